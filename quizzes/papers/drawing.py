"""Drawing papers: one paper per attempt from a blueprint (the pool counted and cached,
the exposure cap kept), the items of a daily quiz's shared draw, and a player's or a
guest's practice paper started or resumed. The drawing rules live in
quizzes.papers.blueprint (pure); this module reads and writes the database around them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.models import (
    AuditEntry,
    Blueprint,
    ItemExposure,
    Paper,
    PaperItem,
    Question,
    QuestionVersion,
    VersionStatus,
)
from quizzes.papers import blueprint as engine
from quizzes.papers.blueprints import blueprint_cells

MAX_SEED = 2**63  # seeds are stored in a signed 64-bit column
POOL_CACHE_SECONDS = 60


Signature = tuple[str, ...]


def _published(bank_id: int):
    return QuestionVersion.objects.filter(
        question__bank_id=bank_id, status=VersionStatus.PUBLISHED
    ).order_by()


def _totals(bank_id: int, *, fresh: bool) -> dict[Signature, int]:
    """Published questions per signature. Cached under the bank's latest audit entry
    (every publish and retire writes one) for POOL_CACHE_SECONDS at most, so a draw
    need not read the whole bank; a stale count is caught by the draw (StalePoolError)
    and the draw is retried with fresh=True."""
    revision = AuditEntry.objects.filter(bank_id=bank_id).aggregate(last=Max("id"))["last"]
    key = f"quizzes:pool-totals:{bank_id}:{revision or 0}"
    cached = None if fresh else cache.get(key)
    if cached is None:
        rows = _published(bank_id).values_list(*engine.ATTRIBUTES).annotate(n=Count("id"))
        cached = [list(row) for row in rows]
        cache.set(key, cached, POOL_CACHE_SECONDS)
    return {tuple(row[:4]): row[4] for row in cached}


def _counts(blueprint: Blueprint, quota: int, *, fresh: bool):
    """Signature → (published, under the exposure cap), and the ids over the cap."""
    totals = _totals(blueprint.bank_id, fresh=fresh)
    over = set(
        ItemExposure.objects.filter(blueprint_id=blueprint.pk, count__gte=quota).values_list(
            "question_id", flat=True
        )
    )
    blocked: dict[Signature, int] = {}
    if over:
        rows = _published(blueprint.bank_id).filter(question_id__in=over)
        for signature in rows.values_list(*engine.ATTRIBUTES):
            blocked[signature] = blocked.get(signature, 0) + 1
    # max(): with stale cached totals a difference could go negative; the draw then
    # finds the mismatch (StalePoolError) if it uses that signature.
    counts = {s: (n, max(0, n - blocked.get(s, 0))) for s, n in totals.items()}
    return counts, over


def _candidates(bank_id: int, signatures: list[Signature], over: set[int]) -> list[dict]:
    """The published items of the given signatures that are under the exposure cap.

    One SELECT per signature, joined by UNION ALL, so that each is an index range on
    (status, dimension, topic, difficulty): with an OR of the signatures SQLite scans
    the whole bank instead (about 3x slower on 10,000 questions)."""
    if not signatures:
        return []
    quote = connection.ops.quote_name
    version, question = QuestionVersion._meta.db_table, Question._meta.db_table
    one = (
        f"SELECT v.question_id, v.id, v.type, v.dimension, v.topic, v.difficulty "  # noqa: S608 - identifiers from _meta, values are parameters
        f"FROM {quote(version)} v INNER JOIN {quote(question)} q ON q.id = v.question_id "
        "WHERE q.bank_id = %s AND v.status = %s AND v.type = %s AND v.dimension = %s "
        "AND v.topic = %s AND v.difficulty = %s"
    )
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(signatures), 200):  # SQLite allows 500 compound terms
            chunk = signatures[start : start + 200]
            params: list[Any] = []
            for signature in chunk:
                params += [bank_id, VersionStatus.PUBLISHED.value, *signature]
            cursor.execute(" UNION ALL ".join([one] * len(chunk)), params)
            rows += cursor.fetchall()
    return [
        {
            "id": question_id,
            "version": version_id,
            "type": qtype,
            "dimension": dimension,
            "topic": topic,
            "difficulty": difficulty,
        }
        for question_id, version_id, qtype, dimension, topic, difficulty in rows
        if question_id not in over
    ]


def paper_draw(*, blueprint: Blueprint, user: User | None, seed: int | None = None) -> Paper:
    """Draw a paper for one attempt (a guest's when `user` is None).

    The seed (random when None) is stored: the same seed against the same bank and
    exposure state gives the same paper, question order and option orders. Raises
    BlueprintError, naming the short cell, when the bank cannot meet the blueprint
    under its exposure cap; nothing is written then.
    """
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    with transaction.atomic():
        draw = items_draw(blueprint=blueprint, seed=seed)
        paper = Paper.objects.create(
            blueprint=blueprint,
            user=user,
            seed=seed,
            draw_number=draw.number,
            total_points=sum(item.points for item in draw.items),
        )
        PaperItem.objects.bulk_create(
            PaperItem(
                paper=paper,
                position=position,
                question_id=item.id,
                version_id=draw.versions[item.id],
                option_order=item.option_order,
                points=item.points,
                cell=item.cell,
            )
            for position, item in enumerate(draw.items, start=1)
        )
    return paper


@dataclass(frozen=True)
class Draw:
    """One draw from a blueprint: its number, the items in paper order, and each
    drawn question's published version id."""

    number: int
    items: list[engine.DrawnItem]
    versions: dict[int, int]


def items_draw(*, blueprint: Blueprint, seed: int) -> Draw:
    """Draw one paper's items from a blueprint and count their exposure, without
    making a paper (paper_draw makes one; a daily quiz shares one draw among all its
    players). Raises BlueprintError when the bank cannot meet the blueprint."""
    cells = blueprint_cells(blueprint)
    if not 0 <= seed < MAX_SEED:
        raise ValidationError(_("A seed is a whole number from 0 to 2⁶³ − 1."))
    if not 0 < blueprint.exposure_cap <= 1:
        raise ValidationError(_("The exposure cap must be above 0 and at most 1."))
    attempts = 3
    for attempt in range(attempts):
        try:
            return _draw(blueprint, cells, seed, fresh=attempt > 0)
        except engine.StalePoolError:  # the bank changed since the counts were cached
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _draw(blueprint: Blueprint, cells: list[engine.Cell], seed: int, *, fresh: bool) -> Draw:
    # First write of the transaction: serialises draws from this blueprint (a row lock
    # on PostgreSQL, the write lock on SQLite) so the exposure counts read are current.
    Blueprint.objects.filter(pk=blueprint.pk).update(draw_count=F("draw_count") + 1)
    draw_number = Blueprint.objects.values_list("draw_count", flat=True).get(pk=blueprint.pk)
    quota = engine.exposure_quota(blueprint.exposure_cap, draw_number)
    counts, over = _counts(blueprint, quota, fresh=fresh)
    versions: dict[int, int] = {}

    def fetch(signatures: list[Signature]) -> list[dict]:
        rows = _candidates(blueprint.bank_id, signatures, over)
        versions.update((row["id"], row["version"]) for row in rows)
        return rows

    def options(ids: list[int]) -> dict[int, list[str]]:
        rows = QuestionVersion.objects.filter(pk__in=[versions[i] for i in ids]).order_by()
        return {
            question: [option["id"] for option in opts]
            for question, opts in rows.values_list("question_id", "options")
        }

    try:
        drawn = engine.draw_from_counts(
            counts,
            cells,
            seed=seed,
            fetch=fetch,
            shuffle_questions=blueprint.shuffle_questions,
            options=options,
        )
    except engine.BlueprintError as error:
        raise error.translated(_) from None
    ids = sorted(item.id for item in drawn)
    if connection.features.has_select_for_update:
        # Other blueprints' draws touch the same questions: lock them in one order.
        list(Question.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    Question.objects.filter(pk__in=ids).update(exposure_count=F("exposure_count") + 1)
    ItemExposure.objects.bulk_create(
        [ItemExposure(blueprint=blueprint, question_id=i, count=0) for i in ids],
        ignore_conflicts=True,
    )
    ItemExposure.objects.filter(blueprint=blueprint, question_id__in=ids).update(
        count=F("count") + 1
    )
    blueprint.draw_count = draw_number
    return Draw(number=draw_number, items=drawn, versions={i: versions[i] for i in ids})


def item_exposure_add(*, blueprint_id: int, question_id: int) -> None:
    """Count one more paper of the blueprint that gave this item (papers drawn one
    item at a time: adaptive tests, challenges)."""
    ItemExposure.objects.get_or_create(blueprint_id=blueprint_id, question_id=question_id)
    ItemExposure.objects.filter(blueprint_id=blueprint_id, question_id=question_id).update(
        count=F("count") + 1
    )


# --- Players: starting and submitting their own papers ------------------------------


def paper_start(*, blueprint: Blueprint, user: User) -> Paper:
    """A player's practice paper from a blueprint that is open to players.

    A paper the player has started from this blueprint and not yet submitted is
    returned instead of drawing another, so a double click or a second tab does not
    draw (and count the exposure of) a second paper. Raises PermissionDenied when the
    blueprint is not open to players and BlueprintError when the bank cannot meet it.
    """
    if not blueprint.open_to_players or blueprint.mode != Blueprint.Mode.FIXED:
        raise PermissionDenied(_("This paper is not open to players."))
    return paper_resume_or_draw(blueprint=blueprint, user=user)


def guest_paper_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    guard: Callable[[], None] | None = None,
) -> Paper:
    """A guest's practice paper (user None) from a blueprint open to players and meant
    for everyone (no audience). The guest's newest unsubmitted paper from it among
    `session_paper_ids` is returned instead of drawing another, as in paper_start.
    `guard` (quizzes.play.guest.guest_start_guard) is called before a new paper is drawn
    and may raise to refuse it; nothing is written then. The caller keeps the new
    paper's id in the guest's session. Raises PermissionDenied and BlueprintError as
    paper_start does."""
    if (
        not blueprint.open_to_players
        or blueprint.mode != Blueprint.Mode.FIXED
        or blueprint.audience
    ):
        raise PermissionDenied(_("This paper is not open to players."))
    unfinished = guest_unfinished_paper(blueprint=blueprint, session_paper_ids=session_paper_ids)
    if unfinished is not None:
        return unfinished
    blueprint_cells(blueprint)  # BlueprintError before the guard counts a start
    if guard is not None:
        guard()
    return paper_draw(blueprint=blueprint, user=None)


def guest_unfinished_paper(*, blueprint: Blueprint, session_paper_ids: list[int]) -> Paper | None:
    """unfinished_paper for a guest: among the unclaimed papers their session keeps."""
    return (
        Paper.objects.filter(
            pk__in=session_paper_ids,
            blueprint=blueprint,
            user__isnull=True,
            submitted_at__isnull=True,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def unfinished_paper(*, blueprint: Blueprint, user: User) -> Paper | None:
    """The player's newest paper from this blueprint that is not submitted yet."""
    return (
        Paper.objects.filter(blueprint=blueprint, user=user, submitted_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


def paper_resume_or_draw(*, blueprint: Blueprint, user: User) -> Paper:
    """The player's paper from this blueprint not submitted yet, or a new draw."""
    return unfinished_paper(blueprint=blueprint, user=user) or paper_draw(
        blueprint=blueprint, user=user
    )
