"""Adaptive tests (the literacy self-test): services over the pure engine quizzes.irt.

An adaptive blueprint's paper grows one item at a time. Each item is a PaperItem and
each answer a Response, as on fixed papers, so marking, item statistics and
calibration read them the same way; the engine's state between items is kept in
AdaptiveTest.state. When the engine stops, the paper is submitted (keys and
explanations are due from then on) and the report is stored: θ with its standard
error, the score on the national 100-point scale with the scores one SE either
side, the level and each dimension's share of the answers.

The 100-point score is the test characteristic curve of the bank weighted like the
national instrument: 100 × Σ_d w_d × mean over the bank's items of dimension d of
P(correct | θ), with w_d the blueprint's shares (40/20/20/20). It is what a person of
that θ would be expected to score on a paper drawn from the whole bank.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.irt.cat import CatConfig, CatEngine, CatSession
from quizzes.irt.model import probability
from quizzes.irt.select import Bank as ItemBank
from quizzes.irt.select import Blueprint as Shares
from quizzes.models import (
    AdaptiveTest,
    AuditEntry,
    Bank,
    Blueprint,
    CalibrationRun,
    Dimension,
    ItemExposure,
    Paper,
    PaperItem,
    QuestionType,
    QuestionVersion,
    Response,
    VersionStatus,
)
from quizzes.papers.blueprint import exposure_quota
from quizzes.papers.blueprints import blueprint_create, blueprint_open_to
from quizzes.papers.drawing import guest_unfinished_paper, item_exposure_add, unfinished_paper
from quizzes.papers.marking import response_submit
from quizzes.play.finish import paper_finished

# Question types an adaptive test gives: marked right or wrong at once, no free text.
ADAPTIVE_TYPES = (QuestionType.SINGLE, QuestionType.TRUE_FALSE, QuestionType.MULTIPLE)
# The national instrument's shares when a blueprint's cells name no dimensions.
NATIONAL_SHARES = {
    Dimension.KNOWLEDGE.value: 40,
    Dimension.METHOD.value: 20,
    Dimension.SPIRIT.value: 20,
    Dimension.APPLICATION.value: 20,
}
# Levels on the 100-point scale (2024 grading): above 85 advanced, above 70 literate,
# 55 to 70 basic, below 55 low.
LEVELS = (
    (85.0, AdaptiveTest.Level.ADVANCED),
    (70.0, AdaptiveTest.Level.LITERATE),
    (55.0, AdaptiveTest.Level.BASIC),
)
# Randomesque k at the first item (shrinking to 1 at the last). Exposure is capped
# across processes by the blueprint's exposure cap over ItemExposure counts, as for
# fixed papers: an item given in ceil(cap × tests) tests sits the next ones out.
RANDOMESQUE = 6  # as simulated (docs/adaptive.md)


@dataclass
class Pool:
    """One adaptive blueprint's engine over its bank as it is now."""

    engine: CatEngine
    versions: dict[int, int]  # question id → published version id
    options: dict[int, list[str]]  # question id → option ids
    shares: dict[str, float]


_pools: dict[tuple, Pool] = {}


def pools_clear() -> None:
    _pools.clear()


def shares_of(blueprint: Blueprint) -> dict[str, float]:
    """Each dimension's share of the test, from the cells' counts."""
    shares: dict[str, float] = {}
    for cell in blueprint.cells:
        dimensions = cell.get("dimension")
        if not dimensions:
            continue
        names = dimensions if isinstance(dimensions, list) else [dimensions]
        for name in names:
            shares[name] = shares.get(name, 0) + cell["count"] / len(names)
    return shares or dict(NATIONAL_SHARES)


def _revision(blueprint: Blueprint) -> tuple:
    """Changes with every publish/retire in the bank and every calibration."""
    audit = AuditEntry.objects.filter(bank_id=blueprint.bank_id).aggregate(m=Max("id"))["m"]
    run = CalibrationRun.objects.filter(
        bank_id=blueprint.bank_id, status=CalibrationRun.Status.DONE
    ).aggregate(m=Max("id"))["m"]
    return (
        blueprint.pk,
        audit or 0,
        run or 0,
        blueprint.min_items,
        blueprint.max_items,
        blueprint.se_target,
        str(blueprint.cells),
    )


def pool_for(blueprint: Blueprint) -> Pool:
    """The engine for a blueprint, built once per process and bank revision."""
    key = _revision(blueprint)
    pool = _pools.get(key)
    if pool is not None:
        return pool
    rows = list(
        QuestionVersion.objects.filter(
            question__bank_id=blueprint.bank_id,
            status=VersionStatus.PUBLISHED,
            type__in=ADAPTIVE_TYPES,
        )
        .order_by("question_id")
        .values_list(
            "question_id", "id", "dimension", "difficulty", "options", "irt__a", "irt__b", "irt__c"
        )
    )
    if not rows:
        raise ValidationError(_("This test has no questions yet."))
    ids = [row[0] for row in rows]
    bank = ItemBank.build(
        [row[5] for row in rows],
        [row[6] for row in rows],
        [row[7] for row in rows],
        labels=[row[3] for row in rows],
        dimensions=[row[2] for row in rows],
        ids=ids,
    )
    shares = shares_of(blueprint)
    config = CatConfig(
        min_length=blueprint.min_items,
        max_length=blueprint.max_items,
        se_target=blueprint.se_target,
        blueprint=Shares.of(shares),
        randomesque=RANDOMESQUE,
    )
    pool = Pool(
        engine=CatEngine(bank, config),
        versions={row[0]: row[1] for row in rows},
        options={row[0]: [option["id"] for option in row[4] or []] for row in rows},
        shares=shares,
    )
    for stale in [k for k in _pools if k[0] == blueprint.pk]:
        del _pools[stale]
    _pools[key] = pool
    return pool


def literacy_score(pool: Pool, theta: float) -> float:
    """The 100-point score at θ (module docstring)."""
    bank = pool.engine.bank
    p = probability(theta, bank.a, bank.b, bank.c)
    total = sum(pool.shares.values())
    score = 0.0
    for name, share in pool.shares.items():
        mine = bank.dimensions == name
        if mine.any():
            score += share / total * float(p[mine].mean())
    return round(100.0 * score, 1)


def level_of(score: float) -> str:
    for floor, level in LEVELS:
        if score > floor:
            return level
    return AdaptiveTest.Level.LOW if score < 55.0 else AdaptiveTest.Level.BASIC


def adaptive_cells(shares: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """An adaptive test's cells: each dimension's share of the test (the national
    40/20/20/20 when not given), no points (the report is a score, not a sum)."""
    return [
        {"dimension": name, "count": count, "points": 0}
        for name, count in (shares or NATIONAL_SHARES).items()
    ]


def adaptive_blueprint_create(
    *,
    bank: Bank,
    name: str,
    actor: User,
    shares: dict[str, int] | None = None,
    min_items: int = 15,
    max_items: int = 30,
    se_target: float = 0.30,
    exposure_cap: float = 0.2,
) -> Blueprint:
    """An adaptive test over a bank: each dimension's share (the national 40/20/20/20
    when not given), stopping at se_target between min_items and max_items."""
    if not 1 <= min_items <= max_items <= 100:
        raise ValidationError(_("Give the fewest and most items, from 1 to 100."))
    if not 0.05 <= se_target <= 1:
        raise ValidationError(_("The target standard error must be from 0.05 to 1."))
    blueprint = blueprint_create(
        bank=bank, name=name, cells=adaptive_cells(shares), actor=actor, exposure_cap=exposure_cap
    )
    Blueprint.objects.filter(pk=blueprint.pk).update(
        mode=Blueprint.Mode.ADAPTIVE, min_items=min_items, max_items=max_items, se_target=se_target
    )
    blueprint.refresh_from_db()
    return blueprint


def adaptive_start(*, blueprint: Blueprint, user: User) -> Paper:
    """Start (or go back to) a player's adaptive test; its first item is on the paper."""
    if not blueprint_open_to(blueprint=blueprint, mode=Blueprint.Mode.ADAPTIVE, user=user):
        raise PermissionDenied(_("This test is not open to players."))
    unfinished = unfinished_paper(blueprint=blueprint, user=user)
    if unfinished is not None:
        return unfinished
    return _test_create(blueprint, pool_for(blueprint), user)


def guest_adaptive_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    guard: Callable[[], None] | None = None,
) -> Paper:
    """adaptive_start for a guest (quizzes.play.guest): the test still running among
    `session_paper_ids`, or a new one without a user; `guard` is called before a new
    test is written and may raise to refuse it. Only tests meant for everyone (no
    audience) are open to guests. A guest's test has no population group, district
    or birth year, so it stays out of the district monitoring (quizzes.play.monitoring)
    unless an account claims it."""
    if not blueprint_open_to(blueprint=blueprint, mode=Blueprint.Mode.ADAPTIVE, user=None):
        raise PermissionDenied(_("This test is not open to players."))
    unfinished = guest_unfinished_paper(blueprint=blueprint, session_paper_ids=session_paper_ids)
    if unfinished is not None:
        return unfinished
    pool = pool_for(blueprint)  # ValidationError before the guard counts a start
    if guard is not None:
        guard()
    return _test_create(blueprint, pool, None)


def _test_create(blueprint: Blueprint, pool: Pool, user: User | None) -> Paper:
    profile = getattr(user, "profile", None)
    with transaction.atomic():
        Blueprint.objects.filter(pk=blueprint.pk).update(draw_count=F("draw_count") + 1)
        draw_number = Blueprint.objects.values_list("draw_count", flat=True).get(pk=blueprint.pk)
        session = pool.engine.start(
            seed=secrets.randbits(62), eligible=_eligible(blueprint, pool, draw_number)
        )
        paper = Paper.objects.create(
            blueprint=blueprint, user=user, seed=session.seed, draw_number=draw_number
        )
        test = AdaptiveTest.objects.create(
            paper=paper,
            population_group=getattr(profile, "population_group", "") or "",
            district_id=getattr(profile, "district_id", None),
            birth_year=getattr(profile, "birth_year", None),
        )
        _give_next(test, pool, session)
    return paper


def _eligible(blueprint: Blueprint, pool: Pool, tests: int) -> np.ndarray:
    """Items under the exposure cap for the tests-th test."""
    bank = pool.engine.bank
    eligible = np.ones(bank.size, dtype=bool)
    over = ItemExposure.objects.filter(
        blueprint=blueprint, count__gte=exposure_quota(blueprint.exposure_cap, tests)
    ).values_list("question_id", flat=True)
    for question in over:
        if question in pool.versions:
            eligible[bank.position(question)] = False
    return eligible


def _give_next(test: AdaptiveTest, pool: Pool, session: CatSession) -> PaperItem | None:
    """Put the engine's next item on the paper (None when the test is over)."""
    question = session.next_item()
    test.state = session.to_dict()
    if question is None:
        test.save(update_fields=["state"])
        return None
    rng = np.random.default_rng((session.seed, session.length))
    order = list(pool.options[question])
    rng.shuffle(order)
    dimension = str(pool.engine.bank.dimensions[pool.engine.bank.position(question)])
    names = list(pool.shares)
    item = PaperItem.objects.create(
        paper=test.paper,
        position=session.length + 1,
        question_id=question,
        version_id=pool.versions[question],
        option_order=order,
        points=0,
        cell=names.index(dimension) if dimension in names else len(names),
    )
    test.save(update_fields=["state"])
    item_exposure_add(blueprint_id=test.paper.blueprint_id, question_id=question)
    return item


def current_item(paper: Paper) -> PaperItem | None:
    """The item waiting for an answer."""
    if paper.submitted_at is not None:
        return None
    return paper.items.filter(responses__isnull=True).order_by("position").last()


def adaptive_answer(*, paper: Paper, item: PaperItem, answer: Any) -> Response:
    """Mark the answer to the current item, then give the next item or finish.

    Idempotent like response_submit: answering an item again returns the first
    answer. An answer to another item than the current one is refused."""
    with transaction.atomic():
        test = (
            AdaptiveTest.objects.select_for_update()
            .select_related("paper__blueprint")
            .get(paper=paper)
        )
        existing = Response.objects.filter(paper=paper, item=item).first()
        if existing is not None:
            return existing
        if test.finished_at is not None or item.paper_id != paper.pk:
            raise ValidationError(_("This question is not waiting for an answer."))
        if item.question_id != test.state.get("pending"):
            raise ValidationError(_("This question is not waiting for an answer."))
        response = response_submit(paper=paper, item=item, answer=answer)
        pool = pool_for(test.paper.blueprint)
        try:
            session = pool.engine.restore(test.state)
            session.record(item.question_id, response.is_correct)
        except (KeyError, ValueError):
            # The bank changed under the test (an item retired): end it with what it has.
            _finish(test, pool, None)
            return response
        if _give_next(test, pool, session) is None:
            _finish(test, pool, session)
        return response


def _finish(test: AdaptiveTest, pool: Pool, session: CatSession | None) -> None:
    now = timezone.now()
    answers = list(
        Response.objects.filter(paper=test.paper).values_list(
            "item__version__dimension", "is_correct"
        )
    )
    dimensions: dict[str, dict[str, Any]] = {}
    for name, correct in answers:
        entry = dimensions.setdefault(name, {"answered": 0, "correct": 0})
        entry["answered"] += 1
        entry["correct"] += int(correct)
    fields = ["finished_at", "dimensions"]
    if session is not None:
        report = session.report()
        theta, se = float(report["theta"]), float(report["se"])
        test.theta, test.theta_se = theta, se
        test.score = literacy_score(pool, theta)
        test.score_low = literacy_score(pool, theta - se)
        test.score_high = literacy_score(pool, theta + se)
        test.level = level_of(test.score)
        fields += ["theta", "theta_se", "score", "score_low", "score_high", "level"]
    test.finished_at = now
    test.dimensions = dimensions
    test.save(update_fields=fields)
    Paper.objects.filter(pk=test.paper_id, submitted_at__isnull=True).update(submitted_at=now)
    test.paper.submitted_at = now
    paper_finished(paper=test.paper, kind="self_test", best=test.score)
