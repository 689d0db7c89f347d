"""Practice modes: the daily quiz and the timed challenge (services).

Daily quiz. A daily blueprint's cells say what its questions are (five of them). The
day's questions are drawn once per blueprint and day (Asia/Shanghai, the site's
TIME_ZONE) with the ordinary draw engine (quizzes.papers.items_draw) and kept in a
DailySet; every player's paper copies them, so the set is the same for everyone on
every process, whoever comes first. The seed comes from a hash of the blueprint and
the date, so a day's draw can be replayed; exposure counts one draw per day (an item
sits out the next days under the blueprint's exposure cap), never one per player,
so a player's arrival cannot change what the next player gets. Each player has one
paper per daily blueprint and day (a database constraint); it is answered like a
fixed paper (quizzes.papers.paper_submit) and then shows the results.

Timed challenge ("answer until wrong within 100 s"). The server's clock decides: the
attempt records `started_at` and its `deadline` (`time_limit` seconds later). Each
question is drawn at random from the bank's published, auto-marked questions not yet
given in this attempt. An answer that arrives after the deadline (plus a stated grace
for the network, ANSWER_GRACE) is not counted and ends the attempt; a wrong answer
ends it; so does running out of questions. SUCCESS_AT or more right is a success.

Themed practice (专项). The themes are the topics with at least THEMED_QUESTIONS
published questions in a bank open for practice: a bank with a blueprint open to
players (any practice mode, for everyone or the player's population group), so a
contest's private bank never leaks through it. A session is an untimed paper of
THEMED_QUESTIONS questions of the topic drawn at random without repeats, from a
themed blueprint made on demand per bank and topic (one cell: the topic); it is
answered and marked like any paper (quizzes.papers.paper_submit), then shows the
results with explanations.

Guests (quizzes.guest) play the daily quiz and the timed challenge of blueprints open
to players and meant for everyone (no audience): guest_daily_start and
guest_challenge_start make papers without a user, which only the guest's session may
open; a guest's daily paper copies the day's set like everyone's. Themed practice is
for accounts.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Profile, User

from . import progress
from .adaptive import ADAPTIVE_TYPES, current_item
from .models import (
    AdaptiveTest,
    Bank,
    Blueprint,
    Challenge,
    DailySet,
    Paper,
    PaperItem,
    QuestionVersion,
    Response,
    Topic,
    VersionStatus,
)
from .papers import (
    MAX_SEED,
    audience_of,
    blueprint_cells,
    blueprint_create,
    blueprint_open_to,
    item_exposure_add,
    items_draw,
    paper_resume_or_draw,
    practice_blueprints,
    response_submit,
)

DAILY_QUESTIONS = 5
THEMED_QUESTIONS = 10
THEMED_POINTS = 10
# The national contest's rule: five or more right within the time is a success.
SUCCESS_AT = 5
CHALLENGE_SECONDS = 100
# An answer sent just before the deadline still has to cross the network.
ANSWER_GRACE = timedelta(seconds=1)
# Question types a challenge gives: marked right or wrong at once.
CHALLENGE_TYPES = ADAPTIVE_TYPES
AUDIENCES = set(Profile.PopulationGroup.values)


def practice_day(now: datetime | None = None) -> date:
    """Today in the site's time zone (settings.TIME_ZONE, Asia/Shanghai), whatever
    time zone the request has activated."""
    return timezone.localtime(now or timezone.now(), timezone.get_default_timezone()).date()


def _check_open(blueprint: Blueprint, mode: str, user: User | None) -> None:
    if not blueprint_open_to(blueprint=blueprint, mode=mode, user=user):
        raise PermissionDenied(_("This quiz is not open to you."))


def _practice_blueprint_create(
    *,
    bank,
    name: str,
    actor: User,
    cells: list[dict[str, Any]],
    mode: str,
    audience: str,
    exposure_cap: float = 1.0,
    **fields: Any,
) -> Blueprint:
    if audience and audience not in AUDIENCES:
        raise ValidationError({"audience": [_("Choose a population group or none.")]})
    blueprint = blueprint_create(
        bank=bank, name=name, cells=cells, actor=actor, exposure_cap=exposure_cap
    )
    Blueprint.objects.filter(pk=blueprint.pk).update(mode=mode, audience=audience, **fields)
    blueprint.refresh_from_db()
    return blueprint


# --- Daily quiz ---------------------------------------------------------------------------


def daily_cells_check(cells: list[dict[str, Any]]) -> None:
    """A daily quiz's cells must name DAILY_QUESTIONS questions (ValidationError)."""
    total = sum(cell.get("count", 0) for cell in cells if isinstance(cell, dict))
    if total != DAILY_QUESTIONS:
        raise ValidationError(
            _("A daily quiz has %(count)s questions: its cells' counts must add up to that.")
            % {"count": DAILY_QUESTIONS}
        )


def daily_blueprint_create(
    *,
    bank,
    name: str,
    actor: User,
    cells: list[dict[str, Any]],
    audience: str = "",
    exposure_cap: float = 1.0,
) -> Blueprint:
    """A daily quiz over a bank: its cells name the day's DAILY_QUESTIONS questions;
    `audience` a population group, or "" for everyone. With an exposure cap below 1
    a question sits out days until its share of the days drawn is under the cap."""
    daily_cells_check(cells)
    return _practice_blueprint_create(
        bank=bank,
        name=name,
        actor=actor,
        cells=cells,
        mode=Blueprint.Mode.DAILY,
        audience=audience,
        exposure_cap=exposure_cap,
    )


def daily_seed(blueprint_id: int, day: date) -> int:
    """The day's seed: the same in every process, different every day."""
    digest = hashlib.sha256(f"daily:{blueprint_id}:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % MAX_SEED


def daily_set_get(*, blueprint: Blueprint, day: date) -> DailySet:
    """The day's questions, drawn by the first player to ask (once: a unique row per
    blueprint and day; a concurrent first draw loses and reads the winner's)."""
    existing = DailySet.objects.filter(blueprint=blueprint, day=day).first()
    if existing is not None:
        return existing
    blueprint_cells(blueprint)  # BlueprintError before any write
    seed = daily_seed(blueprint.pk, day)
    try:
        with transaction.atomic():
            draw = items_draw(blueprint=blueprint, seed=seed)
            return DailySet.objects.create(
                blueprint=blueprint,
                day=day,
                seed=seed,
                draw_number=draw.number,
                items=[
                    {
                        "question": item.id,
                        "version": draw.versions[item.id],
                        "cell": item.cell,
                        "points": item.points,
                        "options": item.option_order,
                    }
                    for item in draw.items
                ],
            )
    except IntegrityError:  # another process drew this day's set first
        return DailySet.objects.get(blueprint=blueprint, day=day)


def daily_start(*, blueprint: Blueprint, user: User, day: date | None = None) -> Paper:
    """The player's paper of a daily quiz for the day (today when None): the day's
    questions in the day's order, options in an order of the player's own. A second
    start the same day returns the same paper."""
    _check_open(blueprint, Blueprint.Mode.DAILY, user)
    day = day or practice_day()
    existing = Paper.objects.filter(blueprint=blueprint, user=user, day=day).first()
    if existing is not None:
        return existing
    day_set = daily_set_get(blueprint=blueprint, day=day)
    try:
        return _daily_paper_create(day_set, user, random.Random(f"{day_set.seed}:{user.pk}"))
    except IntegrityError:  # a second tab started it at the same moment
        return Paper.objects.get(blueprint=blueprint, user=user, day=day)


def guest_daily_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    day: date | None = None,
    guard: Callable[[], None] | None = None,
) -> Paper:
    """daily_start for a guest (quizzes.guest): the day's questions, the same as
    everyone's, on a paper without a user. The guest's paper of this quiz and day
    among `session_paper_ids` is returned if there is one; otherwise `guard` is
    called (it may raise to refuse the start; nothing is written then) and a paper is
    made. Only quizzes meant for everyone (no audience) are open to guests."""
    _check_open(blueprint, Blueprint.Mode.DAILY, None)
    day = day or practice_day()
    existing = (
        Paper.objects.filter(
            pk__in=session_paper_ids, blueprint=blueprint, user__isnull=True, day=day
        )
        .order_by("-id")
        .first()
    )
    if existing is not None:
        return existing
    blueprint_cells(blueprint)  # BlueprintError before the guard counts a start
    if guard is not None:
        guard()
    day_set = daily_set_get(blueprint=blueprint, day=day)
    return _daily_paper_create(day_set, None, random.Random(secrets.randbits(64)))


def _daily_paper_create(day_set: DailySet, user: User | None, shuffle: random.Random) -> Paper:
    with transaction.atomic():
        paper = Paper.objects.create(
            blueprint_id=day_set.blueprint_id,
            user=user,
            day=day_set.day,
            seed=day_set.seed,
            draw_number=day_set.draw_number,
            total_points=sum(entry["points"] for entry in day_set.items),
        )
        PaperItem.objects.bulk_create(
            PaperItem(
                paper=paper,
                position=position,
                question_id=entry["question"],
                version_id=entry["version"],
                option_order=shuffle.sample(entry["options"], len(entry["options"])),
                points=entry["points"],
                cell=entry["cell"],
            )
            for position, entry in enumerate(day_set.items, start=1)
        )
    return paper


# --- Timed challenge ------------------------------------------------------------------------


def challenge_cells() -> list[dict[str, Any]]:
    """A challenge's one cell: the pool it asks from, one question at a time."""
    return [{"type": list(CHALLENGE_TYPES), "count": 1, "points": 1}]


def challenge_blueprint_create(
    *, bank, name: str, actor: User, time_limit: int = CHALLENGE_SECONDS, audience: str = ""
) -> Blueprint:
    """A timed challenge over a bank's published single, true/false and multiple
    choice questions: answer until wrong within `time_limit` seconds."""
    if not 10 <= time_limit <= 3600:
        raise ValidationError({"time_limit": [_("Give a time limit from 10 to 3600 seconds.")]})
    return _practice_blueprint_create(
        bank=bank,
        name=name,
        actor=actor,
        cells=challenge_cells(),
        mode=Blueprint.Mode.CHALLENGE,
        audience=audience,
        time_limit=time_limit,
    )


def _challenge_pool_of(blueprint: Blueprint):
    return QuestionVersion.objects.filter(
        question__bank_id=blueprint.bank_id,
        status=VersionStatus.PUBLISHED,
        type__in=CHALLENGE_TYPES,
    )


def _challenge_pool(paper: Paper):
    return (
        _challenge_pool_of(paper.blueprint)
        .exclude(question_id__in=paper.items.values("question_id"))
        .order_by("question_id")
    )


def _give_next(paper: Paper) -> PaperItem | None:
    """Put a random question not yet given on the paper (None when none is left).
    Random from the paper's seed and the position: an attempt can be replayed."""
    pool = _challenge_pool(paper)
    left = pool.count()
    if not left:
        return None
    position = paper.items.count() + 1
    pick = random.Random(f"{paper.seed}:{position}").randrange(left)
    question, version, options = pool.values_list("question_id", "id", "options")[pick]
    ids = [option["id"] for option in options or []]
    item = PaperItem.objects.create(
        paper=paper,
        position=position,
        question_id=question,
        version_id=version,
        option_order=random.Random(f"{paper.seed}:{position}:options").sample(ids, len(ids)),
        points=1,
        cell=0,
    )
    Paper.objects.filter(pk=paper.pk).update(total_points=position)
    item_exposure_add(blueprint_id=paper.blueprint_id, question_id=question)
    return item


def challenge_start(*, blueprint: Blueprint, user: User, now: datetime | None = None) -> Paper:
    """Start a timed challenge, or go back to the player's attempt still running. An
    attempt whose time ran out is closed first; the clock starts now."""
    _check_open(blueprint, Blueprint.Mode.CHALLENGE, user)
    running = Challenge.objects.filter(paper__blueprint=blueprint, paper__user=user)
    return _challenge_resume_or_start(blueprint, user, running, now, None)


def guest_challenge_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    now: datetime | None = None,
    guard: Callable[[], None] | None = None,
) -> Paper:
    """challenge_start for a guest (quizzes.guest): the attempt still running among
    `session_paper_ids`, or a new one without a user; `guard` is called before a new
    attempt is written and may raise to refuse it. Only challenges meant for everyone
    (no audience) are open to guests."""
    _check_open(blueprint, Blueprint.Mode.CHALLENGE, None)
    running = Challenge.objects.filter(
        paper__blueprint=blueprint, paper__user__isnull=True, paper_id__in=session_paper_ids
    )
    return _challenge_resume_or_start(blueprint, None, running, now, guard)


def _challenge_resume_or_start(
    blueprint: Blueprint,
    user: User | None,
    attempts: QuerySet[Challenge],
    now: datetime | None,
    guard: Callable[[], None] | None,
) -> Paper:
    now = now or timezone.now()
    running = (
        attempts.filter(finished_at__isnull=True)
        .select_related("paper__blueprint")
        .order_by("-started_at")
    )
    for challenge in running:
        if not challenge_expire(challenge=challenge, now=now):
            return challenge.paper
    if not _challenge_pool_of(blueprint).exists():
        raise ValidationError(_("This challenge has no questions yet."))
    if guard is not None:
        guard()
    with transaction.atomic():
        paper = Paper.objects.create(
            blueprint=blueprint,
            user=user,
            seed=secrets.randbelow(MAX_SEED),
            draw_number=0,
            created_at=now,
        )
        Challenge.objects.create(
            paper=paper, started_at=now, deadline=now + timedelta(seconds=blueprint.time_limit)
        )
        if _give_next(paper) is None:
            raise ValidationError(_("This challenge has no questions yet."))
    return paper


def _finish(challenge: Challenge, ended_by: str, now: datetime) -> bool:
    """End the challenge once (a conditional UPDATE) and submit its paper: keys and
    explanations are due from then on. False if it had already ended."""
    ended = Challenge.objects.filter(pk=challenge.pk, finished_at__isnull=True).update(
        finished_at=now, ended_by=ended_by, success=challenge.correct >= SUCCESS_AT
    )
    if ended:
        Paper.objects.filter(pk=challenge.paper_id, submitted_at__isnull=True).update(
            submitted_at=now
        )
    challenge.refresh_from_db()
    challenge.paper.refresh_from_db(fields=["submitted_at", "total_points"])
    if ended:
        progress.paper_finished(paper=challenge.paper, kind="challenge", best=challenge.correct)
    return bool(ended)


def is_late(challenge: Challenge, now: datetime) -> bool:
    return now > challenge.deadline + ANSWER_GRACE


def challenge_expire(*, challenge: Challenge, now: datetime | None = None) -> bool:
    """Close a challenge whose time has run out (idempotent). True if it is over."""
    if challenge.finished_at is not None:
        return True
    now = now or timezone.now()
    if not is_late(challenge, now):
        return False
    _finish(challenge, Challenge.End.TIME, now)
    return True


@dataclass(frozen=True)
class Marked:
    """What became of an answer: `counted` is False when it came too late."""

    challenge: Challenge
    counted: bool
    response: Response | None


def challenge_answer(
    *, paper: Paper, item: PaperItem, answer: Any, now: datetime | None = None
) -> Marked:
    """Mark the answer to the challenge's current question by the server's clock.

    Late (after the deadline and ANSWER_GRACE): not counted, the challenge ends. Right:
    the next question is given. Wrong: the challenge ends. An answer that does not fit
    the question, or to another question than the current one, raises
    ValidationError and changes nothing. Answering an item again returns the first
    answer."""
    now = now or timezone.now()
    with transaction.atomic():
        challenge = (
            Challenge.objects.select_for_update()
            .select_related("paper__blueprint")
            .get(paper=paper)
        )
        existing = Response.objects.filter(paper=paper, item=item).first()
        if existing is not None:
            return Marked(challenge, True, existing)
        if challenge.finished_at is not None:
            raise ValidationError(_("This challenge is over."))
        if item.paper_id != paper.pk or current_item(challenge.paper) != item:
            raise ValidationError(_("This question is not waiting for an answer."))
        if is_late(challenge, now):
            _finish(challenge, Challenge.End.TIME, now)
            return Marked(challenge, False, None)
        response = response_submit(paper=paper, item=item, answer=answer)
        if not response.is_correct:
            _finish(challenge, Challenge.End.WRONG, now)
            return Marked(challenge, True, response)
        challenge.correct += 1
        challenge.save(update_fields=["correct"])
        if _give_next(challenge.paper) is None:
            _finish(challenge, Challenge.End.CLEARED, now)
        return Marked(challenge, True, response)


def _attempts_of(user: User | None, session_paper_ids: list[int] | None) -> QuerySet[Challenge]:
    """The finished challenges of a player, or of a guest (user None: the unclaimed
    ones among the papers their session keeps)."""
    finished = Challenge.objects.filter(finished_at__isnull=False)
    if user is not None:
        return finished.filter(paper__user=user)
    return finished.filter(paper__user__isnull=True, paper_id__in=session_paper_ids or [])


def practice_overview(
    *, user: User | None, session_paper_ids: list[int] | None = None
) -> dict[str, Any]:
    """What the practice home shows a player (a guest: user None and the papers their
    session keeps): today's daily quizzes with the player's paper of each (annotated
    with its score once submitted), the challenges with the personal best, the
    self-tests open to them and their latest finished tests."""
    mine = (
        Paper.objects.filter(user=user)
        if user is not None
        else Paper.objects.filter(pk__in=session_paper_ids or [], user__isnull=True)
    )
    day = practice_day()
    dailies = list(practice_blueprints(mode=Blueprint.Mode.DAILY, user=user))
    today = {
        paper.blueprint_id: paper
        for paper in mine.filter(day=day, blueprint__in=dailies)
        .order_by("id")
        .annotate(
            score=Case(
                When(submitted_at__isnull=True, then=Value(None)),
                default=Sum("responses__score", default=0),
                output_field=IntegerField(),
            )
        )
    }
    bests = personal_bests(user=user, session_paper_ids=session_paper_ids)
    challenges = practice_blueprints(mode=Blueprint.Mode.CHALLENGE, user=user)
    return {
        "day": day,
        "dailies": [{"blueprint": b, "paper": today.get(b.pk)} for b in dailies],
        "challenges": [{"blueprint": b, "best": bests.get(b.pk)} for b in challenges],
        "tests": practice_blueprints(mode=Blueprint.Mode.ADAPTIVE, user=user),
        "finished": AdaptiveTest.objects.filter(paper__in=mine, finished_at__isnull=False)
        .select_related("paper__blueprint")
        .order_by("-finished_at")[:20],
    }


def personal_bests(
    *, user: User | None, session_paper_ids: list[int] | None = None
) -> dict[int, int]:
    """The player's (or guest's) most right answers in one attempt, per challenge
    blueprint."""
    rows = (
        _attempts_of(user, session_paper_ids)
        .values("paper__blueprint")
        .annotate(best=Max("correct"))
        .values_list("paper__blueprint", "best")
    )
    return dict(rows)


def personal_best_before(
    *, challenge: Challenge, session_paper_ids: list[int] | None = None
) -> int | None:
    """The player's best on this challenge before this attempt (None if it is the
    first); a guest's among the papers their session keeps."""
    return (
        _attempts_of(challenge.paper.user, session_paper_ids)
        .filter(
            paper__blueprint_id=challenge.paper.blueprint_id,
            started_at__lt=challenge.started_at,
        )
        .exclude(pk=challenge.pk)
        .aggregate(best=Max("correct"))["best"]
    )


# --- Themed practice ------------------------------------------------------------------------


def theme_banks(*, user: User) -> QuerySet[Bank]:
    """Banks open for practice to this player: those with a blueprint open to players,
    for everyone or for the player's population group (themed ones aside)."""
    open_blueprints = Blueprint.objects.filter(
        Q(audience="") | Q(audience=audience_of(user)), open_to_players=True
    ).exclude(mode=Blueprint.Mode.THEMED)
    return Bank.objects.filter(pk__in=open_blueprints.values("bank_id"))


def themes(*, user: User) -> list[dict[str, Any]]:
    """The themes open to the player: per bank open for practice, each topic with at
    least THEMED_QUESTIONS published questions, in the Topic list's order."""
    rows = (
        QuestionVersion.objects.filter(
            status=VersionStatus.PUBLISHED, question__bank__in=theme_banks(user=user)
        )
        .values("question__bank_id", "question__bank__name", "topic")
        .annotate(count=Count("id"))
        .filter(count__gte=THEMED_QUESTIONS)
        .order_by()
    )
    order = {value: n for n, value in enumerate(Topic.values)}
    labels = dict(Topic.choices)
    found = [
        {
            "bank_id": row["question__bank_id"],
            "bank": row["question__bank__name"],
            "topic": row["topic"],
            "label": labels.get(row["topic"], row["topic"]),
            "count": row["count"],
        }
        for row in rows
    ]
    return sorted(found, key=lambda t: (order.get(t["topic"], len(order)), t["bank"]))


def theme_blueprint_get(*, bank: Bank, topic: str) -> Blueprint:
    """The bank's themed blueprint for a topic, made on first use: THEMED_QUESTIONS
    questions of the topic, untimed, no exposure cap. Not open to players by itself
    (it must not open its bank for themes): theme_start checks the bank."""
    if topic not in Topic.values:
        raise ValidationError(_("There is no such theme."))
    with translation.override(settings.LANGUAGE_CODE):
        name = f"{Topic(topic).label} · {_('Themed practice')}"
    defaults = {
        "cells": [{"topic": topic, "count": THEMED_QUESTIONS, "points": THEMED_POINTS}],
        "exposure_cap": 1.0,
        "shuffle_questions": True,
    }
    try:
        with transaction.atomic():
            blueprint, _created = Blueprint.objects.get_or_create(
                bank=bank, name=name, mode=Blueprint.Mode.THEMED, defaults=defaults
            )
    except IntegrityError:  # made at the same moment, or the name is taken by another mode
        blueprint = Blueprint.objects.filter(
            bank=bank, name=name, mode=Blueprint.Mode.THEMED
        ).first()
        if blueprint is None:
            raise ValidationError(_("This theme cannot start at the moment.")) from None
    return blueprint


def theme_start(*, bank: Bank, topic: str, user: User) -> Paper:
    """A themed practice paper for the player, or the one of this theme still not
    submitted. PermissionDenied when the bank is not open for practice to the
    player; BlueprintError when it has too few questions of the topic."""
    if not theme_banks(user=user).filter(pk=bank.pk).exists():
        raise PermissionDenied(_("This quiz is not open to you."))
    blueprint = theme_blueprint_get(bank=bank, topic=topic)
    return paper_resume_or_draw(blueprint=blueprint, user=user)
