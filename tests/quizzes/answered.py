"""A bank whose papers were answered by simulated people (2PL, a = 1.3, difficulties
spread evenly over -1.5…1.5), for the calibration tests and for fault tests that need a
calibration to take a while. Test modules import it, never each other.

How long a calibration of it takes (2 shared cores, SQLite; building the bank takes
about as long again): 400 × 10 items well under a second (EM converges in about 10
steps); with `slow=True` (a misplaced anchor item: the population is estimated and EM
crawls), 1,000 persons × 20 items takes about 6 s in 2PL (some 340 EM steps) and 17 s
in 3PL. The run's heartbeat and progress are written every half second meanwhile.
"""

from __future__ import annotations

import numpy as np

from accounts.models import User
from quizzes.models import Bank, ItemParameters, Paper, PaperItem, QuestionVersion, Response
from quizzes.papers.blueprints import blueprint_create
from tests.quizzes.factories import BankFactory, fill_bank


def true_difficulties(items: int) -> np.ndarray:
    return np.linspace(-1.5, 1.5, items)


def answered_bank(
    persons: int = 400, *, seed: int = 5, items: int = 10, slow: bool = False
) -> tuple[Bank, list[QuestionVersion]]:
    """The bank and its versions (in order of difficulty): `persons` papers, each a
    person's with an account (guests' answers do not calibrate), every item answered.
    slow: the easiest item is an anchor held far from the truth (a 0.4, b 2.5)."""
    bank = BankFactory()
    questions = fill_bank(bank, {("single", "knowledge"): items})
    owner = bank.owners.first()
    blueprint = blueprint_create(
        bank=bank,
        name="校准",
        cells=[{"dimension": "knowledge", "count": items, "points": 1}],
        actor=owner,
    )
    versions = [q.versions.get() for q in questions]
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, persons)
    right = rng.random((persons, items)) < 1 / (
        1 + np.exp(-1.3 * (theta[:, None] - true_difficulties(items)))
    )
    people = User.objects.bulk_create(
        User(username=f"cal-{bank.pk}-{seed}-{n}") for n in range(persons)
    )
    papers = Paper.objects.bulk_create(
        Paper(blueprint=blueprint, user=person, seed=n, draw_number=n + 1)
        for n, person in enumerate(people)
    )
    paper_items = PaperItem.objects.bulk_create(
        PaperItem(
            paper=paper, position=i + 1, question=v.question, version=v,
            option_order=[o["id"] for o in v.options], points=1, cell=0,
        )
        for paper in papers
        for i, v in enumerate(versions)
    )  # fmt: skip
    Response.objects.bulk_create(
        Response(
            paper=item.paper,
            item=item,
            answer="x",
            is_correct=bool(right[n // items, n % items]),
            score=0,
        )
        for n, item in enumerate(paper_items)
    )
    if slow:
        ItemParameters.objects.create(version=versions[0], a=0.4, b=2.5, anchor=True)
    return bank, versions
