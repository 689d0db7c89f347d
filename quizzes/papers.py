"""Writes for papers: blueprints, drawing a paper per attempt, responses, item
statistics. The drawing rules live in quizzes.blueprint (pure), the maths in
quizzes.statistics (pure); this module reads and writes the database around them.
"""

from __future__ import annotations

import math
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import user_can_play

from . import blueprint as engine
from . import progress, statistics
from .content import is_correct
from .models import (
    AdaptiveTest,
    AuditEntry,
    Bank,
    Blueprint,
    Difficulty,
    Dimension,
    ItemExposure,
    ItemStatistics,
    Paper,
    PaperItem,
    Question,
    QuestionType,
    QuestionVersion,
    Response,
    Topic,
    VersionStatus,
)

ALLOWED_VALUES = {
    "type": set(QuestionType.values),
    "dimension": set(Dimension.values),
    "topic": set(Topic.values),
    "difficulty": set(Difficulty.values),
}
MAX_SEED = 2**63  # seeds are stored in a signed 64-bit column
POOL_CACHE_SECONDS = 60


def blueprint_cells(blueprint: Blueprint) -> list[engine.Cell]:
    """The blueprint's cells, validated; BlueprintError (translated) if malformed."""
    try:
        cells = engine.parse_cells(blueprint.cells)
    except engine.BlueprintError as error:
        raise error.translated(_) from None
    for index, cell in enumerate(cells):
        for name, values in cell.filters:
            unknown = values - ALLOWED_VALUES[name]
            if unknown:
                raise engine.BlueprintError(
                    engine.UNKNOWN_VALUE,
                    [index],
                    gettext=_,
                    cell=index + 1,
                    field=name,
                    value=", ".join(sorted(unknown)),
                )
    return cells


def _can_draw_from(bank: Bank, user: User) -> bool:
    return (
        user.is_superuser
        or bank.owners.filter(pk=user.pk).exists()
        or bank.shared_with.filter(pk=user.pk).exists()
    )


@transaction.atomic
def blueprint_create(
    *,
    bank: Bank,
    name: str,
    cells: list[dict[str, Any]],
    actor: User,
    exposure_cap: float = 1.0,
    shuffle_questions: bool = True,
    seconds_per_question: int | None = None,
) -> Blueprint:
    """A blueprint for a bank. Its owners and the organizers it is shared with make them."""
    if not _can_draw_from(bank, actor):
        raise PermissionDenied(_("Only the bank's owners and those it is shared with draw papers."))
    if not 0 < exposure_cap <= 1:
        raise ValidationError(
            {"exposure_cap": [_("The exposure cap must be above 0 and at most 1.")]}
        )
    blueprint = Blueprint(
        bank=bank,
        name=name,
        cells=cells,
        exposure_cap=exposure_cap,
        shuffle_questions=shuffle_questions,
        seconds_per_question=seconds_per_question,
        created_by=actor,
    )
    blueprint_cells(blueprint)  # raises BlueprintError if malformed
    blueprint.save()
    return blueprint


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


def answer_check(version: QuestionVersion, option_ids: list[str], answer: Any) -> None:
    """The shape of an answer: choices must name options of this question (the ids
    the player was shown). ValidationError if it does not fit."""
    qtype = version.type
    options = set(option_ids)
    bad = ValidationError(_("This answer does not fit the question."))
    if qtype == QuestionType.SINGLE:
        if not isinstance(answer, str) or answer not in options:
            raise bad
    elif qtype in (QuestionType.MULTIPLE, QuestionType.ORDERING):
        if not isinstance(answer, list) or not all(
            isinstance(a, str) and a in options for a in answer
        ):
            raise bad
        if len(set(answer)) != len(answer):
            raise bad
    elif qtype == QuestionType.TRUE_FALSE:
        if not isinstance(answer, bool):
            raise bad
    elif qtype == QuestionType.FILL:
        if not isinstance(answer, str) or len(answer) > 500:
            raise bad
    elif qtype == QuestionType.NUMERIC and (
        isinstance(answer, bool)
        or not isinstance(answer, (int, float, str))
        or len(str(answer)) > 50
    ):
        raise bad


def response_submit(*, paper: Paper, item: PaperItem, answer: Any) -> Response:
    """Record the answer to one paper item and mark it. Idempotent: the first answer
    stands, and submitting again returns it unchanged."""
    if item.paper_id != paper.pk:
        raise ValidationError(_("This question is not on this paper."))
    existing = Response.objects.filter(paper=paper, item=item).first()
    if existing is not None:
        return existing
    version = QuestionVersion.objects.only("type", "key").get(pk=item.version_id)
    answer_check(version, item.option_order, answer)
    correct = is_correct(version.type, version.key, answer)
    try:
        with transaction.atomic():
            return Response.objects.create(
                paper=paper,
                item=item,
                answer=answer,
                is_correct=correct,
                score=item.points if correct else 0,
            )
    except IntegrityError:  # a concurrent submit of the same item won
        return Response.objects.get(paper=paper, item=item)


def item_statistics_update(*, bank: Bank, min_responses: int = statistics.MIN_RESPONSES) -> int:
    """Compute and store item statistics for every version of the bank drawn into a
    paper. Idempotent: running it again rewrites the same rows. Returns the count."""
    drawn = dict(
        PaperItem.objects.filter(paper__blueprint__bank=bank)
        .values("version_id")
        .annotate(n=Count("id"))
        .values_list("version_id", "n")
    )
    rows = list(
        # Account papers only, as for calibration (quizzes.calibrations).
        Response.objects.filter(paper__blueprint__bank=bank, paper__user__isnull=False).values_list(
            "paper_id", "item__version_id", "is_correct", "answer"
        )
    )
    analysis = statistics.analyse(
        [r[0] for r in rows], [r[1] for r in rows], [1.0 if r[2] else 0.0 for r in rows]
    ).as_dict()
    answers: dict[int, list[Any]] = {}
    for _paper, version_id, _correct, answer in rows:
        answers.setdefault(version_id, []).append(answer)
    now = timezone.now()
    results = []
    for version in QuestionVersion.objects.filter(pk__in=drawn).only("type", "key", "options"):
        figures = analysis.get(
            version.pk, {"responses": 0, "facility": None, "discrimination": None}
        )
        distractors = statistics.distractor_counts(
            version.type, [o["id"] for o in version.options], answers.get(version.pk, [])
        )
        results.append(
            ItemStatistics(
                version=version,
                responses=figures["responses"],
                exposure_count=drawn[version.pk],
                facility=figures["facility"],
                discrimination=figures["discrimination"],
                distractors=distractors,
                flags=statistics.item_flags(
                    qtype=version.type,
                    key=version.key,
                    responses=figures["responses"],
                    discrimination=figures["discrimination"],
                    distractors=distractors,
                    min_responses=min_responses,
                ),
                computed_at=now,
            )
        )
    with transaction.atomic():
        ItemStatistics.objects.bulk_create(
            results,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["version"],
            update_fields=[
                "responses",
                "exposure_count",
                "facility",
                "discrimination",
                "distractors",
                "flags",
                "computed_at",
            ],
        )
    return len(results)


def item_statistics_schedule(*, bank: Bank) -> None:
    """Queue the statistics task after the current transaction commits."""
    from .tasks import item_statistics

    bank_id = bank.pk
    transaction.on_commit(lambda: item_statistics.delay(bank_id))


# --- Players: starting and submitting their own papers ------------------------------


def blueprint_open_to_players(*, blueprint: Blueprint, actor: User, is_open: bool) -> Blueprint:
    """Open a blueprint to players for self-started practice papers, or close it.
    Those who may draw from its bank decide. Idempotent."""
    if not _can_draw_from(blueprint.bank, actor):
        raise PermissionDenied(_("Only the bank's owners and those it is shared with draw papers."))
    Blueprint.objects.filter(pk=blueprint.pk).update(open_to_players=is_open)
    blueprint.open_to_players = is_open
    return blueprint


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


def audience_of(user: User | None) -> str:
    """The player's population group; "" for a guest (user None)."""
    profile = getattr(user, "profile", None)
    return getattr(profile, "population_group", "") or ""


def practice_blueprints(*, mode: str, user: User | None) -> QuerySet[Blueprint]:
    """Blueprints of a practice mode open to this player: the general ones and those
    for the player's population group (a guest, user None: the general ones)."""
    return Blueprint.objects.filter(
        Q(audience="") | Q(audience=audience_of(user)), mode=mode, open_to_players=True
    ).order_by("name", "id")


def blueprint_open_to(*, blueprint: Blueprint, mode: str, user: User | None) -> bool:
    """Whether a player (a guest: None) may start a paper of this mode from it."""
    return (
        blueprint.mode == mode
        and blueprint.open_to_players
        and blueprint.audience in ("", audience_of(user))
    )


def guest_paper_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    guard: Callable[[], None] | None = None,
) -> Paper:
    """A guest's practice paper (user None) from a blueprint open to players and meant
    for everyone (no audience). The guest's newest unsubmitted paper from it among
    `session_paper_ids` is returned instead of drawing another, as in paper_start.
    `guard` (quizzes.guest.guest_start_guard) is called before a new paper is drawn
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


# The kinds of guest papers an account can claim; themed practice is for accounts only.
CLAIMABLE_MODES = (
    Blueprint.Mode.FIXED,
    Blueprint.Mode.DAILY,
    Blueprint.Mode.CHALLENGE,
    Blueprint.Mode.ADAPTIVE,
)


def guest_papers_claim(*, session_paper_ids: list[int], user: User) -> list[int]:
    """Move a guest's papers (the ids their session kept: practice papers, daily
    quizzes, timed challenges, self-tests) to the account they signed up or signed in
    with, and give the account the progress of those already finished: XP, streak,
    mastery, review cards, personal bests (a challenge's right answers, a self-test's
    score). A challenge or self-test still running goes on under the account, and
    earns its progress when it ends.

    Each paper is claimed once, by a conditional UPDATE (`user IS NULL`): claiming
    again, or a paper another account claimed first, changes nothing. Returns the ids
    claimed by this call.

    The daily quiz is one paper per player, blueprint and day: a guest's daily quiz
    of a day the account already has a paper of (from that blueprint) is left
    unclaimed, so the day is never counted twice (no second daily XP, streak day or
    review cards); the account's own paper stands.

    A claimed self-test takes the account's population group, district and birth year
    (a guest's has none), as if the account had started it, so it counts in the
    district monitoring from then on; a guest's unclaimed test never does.

    A child whose guardian has not consented (or has withdrawn) claims nothing: PIPL
    allows no processing of a child's data before consent, so the papers stay the
    guest's (anonymous) and the account gets no progress from them.
    """
    if not session_paper_ids or not user_can_play(user=user):
        return []
    candidates = list(
        Paper.objects.filter(
            pk__in=session_paper_ids, user__isnull=True, blueprint__mode__in=CLAIMABLE_MODES
        ).values_list("pk", "blueprint_id", "day")
    )
    taken_days = {
        (blueprint_id, day)
        for blueprint_id, day in Paper.objects.filter(
            user=user, day__in={day for _pk, _b, day in candidates if day}
        ).values_list("blueprint_id", "day")
    }
    claimed: list[int] = []
    with transaction.atomic():
        for paper_id, blueprint_id, day in sorted(candidates):
            if day and (blueprint_id, day) in taken_days:
                continue  # the account has this day's quiz already: left unclaimed
            try:
                with transaction.atomic():  # a savepoint: a daily quiz started meanwhile
                    updated = Paper.objects.filter(pk=paper_id, user__isnull=True).update(user=user)
            except IntegrityError:
                continue
            if updated:
                claimed.append(paper_id)
        _claimed_tests_describe(claimed, user)
        for paper in (
            Paper.objects.filter(pk__in=claimed, submitted_at__isnull=False)
            .select_related("blueprint", "challenge", "adaptive")
            .order_by("submitted_at", "id")
        ):
            kind, best = _claim_kind(paper)
            progress.paper_finished(paper=paper, kind=kind, best=best)
    return claimed


def _claimed_tests_describe(paper_ids: list[int], user: User) -> None:
    """Give claimed self-tests the account's profile figures (monitoring reads them)."""
    profile = getattr(user, "profile", None)
    AdaptiveTest.objects.filter(paper_id__in=paper_ids).update(
        population_group=getattr(profile, "population_group", "") or "",
        district_id=getattr(profile, "district_id", None),
        birth_year=getattr(profile, "birth_year", None),
    )


def _claim_kind(paper: Paper) -> tuple[str, float | None]:
    """What a finished claimed paper counts as for progress, and its personal best."""
    mode = paper.blueprint.mode
    if mode == Blueprint.Mode.CHALLENGE:
        challenge = getattr(paper, "challenge", None)
        return "challenge", challenge.correct if challenge else None
    if mode == Blueprint.Mode.ADAPTIVE:
        test = getattr(paper, "adaptive", None)
        return "self_test", test.score if test else None
    return _kind(paper), None


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


def is_number(answer: Any) -> bool:
    if isinstance(answer, bool) or not isinstance(answer, (int, float, str)):
        return False
    try:
        value = float(unicodedata.normalize("NFKC", str(answer)).strip())
    except ValueError:
        return False
    return math.isfinite(value)


def _kind(paper: Paper) -> str:
    """What a whole paper counts as for progress (quizzes.progress.KINDS)."""
    if paper.day:
        return "daily"
    mode = Blueprint.objects.values_list("mode", flat=True).get(pk=paper.blueprint_id)
    return "themed" if mode == Blueprint.Mode.THEMED else "paper"


def paper_submit(*, paper: Paper, answers: dict[int, Any]) -> bool:
    """Submit a paper, once: record the given answers (paper item id → answer; items
    left out stay unanswered and score nothing) and close the paper, in one
    transaction.

    All or nothing: when an answer does not fit its question, ValidationError names
    every such item (keyed by the item id as a string) and nothing is recorded. A
    paper already submitted is left as it is, whatever is sent: returns False then,
    True when this call submitted it. Keys and explanations are due once it returns.
    """
    items = {
        item.pk: item
        for item in paper.items.select_related("version").only(
            "id", "paper_id", "option_order", "points", "version_id", "version__type"
        )
    }
    if set(answers) - set(items):
        raise ValidationError(_("This question is not on this paper."))
    with transaction.atomic():
        # The claim comes first: the conditional UPDATE takes the row's write lock, so
        # a concurrent submit of the same paper waits here and then finds it closed.
        claimed = Paper.objects.filter(pk=paper.pk, submitted_at__isnull=True).update(
            submitted_at=timezone.now()
        )
        if not claimed:
            paper.refresh_from_db(fields=["submitted_at"])
            return False
        errors: dict[str, list[str]] = {}
        for item_id, answer in answers.items():
            item = items[item_id]
            if item.version.type == QuestionType.NUMERIC and not is_number(answer):
                errors[str(item_id)] = [_("Enter a number.")]
                continue
            try:
                response_submit(paper=paper, item=item, answer=answer)
            except ValidationError as error:
                errors[str(item_id)] = list(error.messages)
        if errors:
            raise ValidationError(errors)  # rolls back the claim and every answer
        progress.paper_finished(paper=paper, kind=_kind(paper))
    paper.refresh_from_db(fields=["submitted_at"])
    return True
