"""District literacy monitoring from the self-test, anonymised.

Each person counts once, with their latest finished self-test; the figures are by
district and population group (copied onto the test when it started, so later
profile edits do not rewrite history), and a cell with fewer than MIN_CELL people
shows its count band only: no mean or share that could single someone out. No user,
name or school is read. Guests' tests (no account) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, OuterRef, Q, Subquery

from accounts.models import District, Profile
from quizzes.models import AdaptiveTest

MIN_CELL = 10
LITERATE_ABOVE = 70.0


@dataclass(frozen=True)
class Cell:
    district: str  # the district's name, or "" when the person gave none
    code: str
    group_code: str  # Profile.PopulationGroup value
    group: str  # its label
    people: int | None  # None: fewer than MIN_CELL
    mean_score: float | None
    literate_share: float | None  # share scoring above 70


def literacy_monitoring(
    *, since: datetime | None = None, until: datetime | None = None
) -> list[Cell]:
    """One cell per district and population group (district code order)."""
    # A guest's test (no user) counts only once an account has claimed it
    # (quizzes.play.claim.guest_papers_claim gives it the account's district and group).
    tests = AdaptiveTest.objects.filter(
        finished_at__isnull=False, score__isnull=False, paper__user__isnull=False
    )
    if since is not None:
        tests = tests.filter(finished_at__gte=since)
    if until is not None:
        tests = tests.filter(finished_at__lt=until)
    latest = (
        tests.filter(paper__user=OuterRef("paper__user"))
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )
    rows = (
        tests.filter(pk=Subquery(latest))
        .values("district_id", "population_group")
        .annotate(
            n=Count("pk"),
            mean=Avg("score"),
            literate=Count("pk", filter=Q(score__gt=LITERATE_ABOVE)),
        )
    )
    districts = {d.pk: d for d in District.objects.all()}
    groups = dict(Profile.PopulationGroup.choices)
    cells = []
    for row in rows:
        district = districts.get(row["district_id"])
        small = row["n"] < MIN_CELL
        cells.append(
            Cell(
                district=district.name if district else "",
                code=district.code if district else "",
                group_code=row["population_group"],
                group=str(groups.get(row["population_group"], row["population_group"])),
                people=None if small else row["n"],
                mean_score=None if small else round(row["mean"], 1),
                literate_share=None if small else round(row["literate"] / row["n"], 3),
            )
        )
    return sorted(cells, key=lambda c: (c.code or "999999", c.group_code))
