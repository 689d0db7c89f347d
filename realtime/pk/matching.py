"""PK matchmaking: the queue is the PkEntry table (one row per user). A find claims the
oldest other waiting entry and its own with conditional UPDATEs (`match IS NULL`) in
one transaction, so two server processes never pair a player twice. A wait ends after
settings.PK_WAIT_MS.

Questions: 5 published single-choice and true/false questions, drawn at random from the
banks that have a blueprint open to players (what players may practise at will), the
same for both players, each player with a private option order.
"""

from __future__ import annotations

import random

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.display import public_names
from accounts.models import User
from accounts.selectors import user_can_play

from .. import engine
from ..events import publish
from ..live.nicknames import MAX_LENGTH as NICKNAME_MAX_LENGTH
from ..live.nicknames import NicknameError, clean_nickname, generated_nickname
from ..live.state import now_ms
from ..models import PkEntry, PkMatch, PkPlayer, PkQuestion
from . import frames, selectors
from .match import QUESTIONS, TYPES

CANDIDATES = 5  # waiting entries tried per find before waiting oneself


class NoQuestions(Exception):  # noqa: N818 - a refusal the protocol reports
    """No published question is open to players: no match can be made."""


class _Lost(Exception):  # noqa: N818 - another process claimed an entry first
    pass


def user_group(user_id: int) -> str:
    """The relay group a waiting player's sockets listen on to hear of a match."""
    return f"pk.user.{user_id}"


def pk_names(match: PkMatch, users: list[User]) -> dict[int, str]:
    """{user id: what the opponent sees}, in one query: the public name
    (accounts.display: the profile's nickname, or for a child without the guardian's
    consent to public display a generated name, stable for the match), cleaned; a
    nickname the filter refuses is replaced by a generated one. Never the username,
    which may be a child's real name. Both players' pages show these names (the
    `players` rows are one frame for both)."""
    shown = public_names([user.pk for user in users], scope=f"pk:{match.pk}")
    names = {}
    for user in users:
        try:
            names[user.pk] = clean_nickname(shown[user.pk][:NICKNAME_MAX_LENGTH])
        except NicknameError:
            names[user.pk] = generated_nickname()
    return names


def draw_questions(count: int = QUESTIONS) -> list[int]:
    """Ids of published single-choice and true/false versions from the banks with a
    blueprint open to players, one version per question, at random."""
    rows = selectors.drawable_versions(TYPES)
    by_question: dict[int, int] = {}
    for pk, question in rows:
        by_question[question] = max(pk, by_question.get(question, 0))
    ids = sorted(by_question.values())
    return random.sample(ids, min(count, len(ids)))


def pk_find(*, user: User) -> PkPlayer | PkEntry:
    """Find an opponent: the user's seat if a match is on or one is found now, else the
    user's (one) waiting entry. Raises PermissionDenied for anyone who may not play and
    NoQuestions when no questions are open to players."""
    if not user_can_play(user=user):
        raise PermissionDenied(_("Sign in (and for children, a guardian's consent) to play."))
    current = selectors.current_player(user)
    if current is not None:
        return current
    now = now_ms()
    with transaction.atomic():
        entry, created = PkEntry.objects.get_or_create(user=user, defaults={"since": now})
        if not created:
            if entry.match_id is not None:
                player = PkPlayer.objects.filter(match_id=entry.match_id, user=user).first()
                if player is not None and player.match.status != engine.Status.FINISHED:
                    return player
                PkEntry.objects.filter(pk=entry.pk, match_id=entry.match_id).update(
                    match=None, since=now
                )
            elif entry.since < now - settings.PK_WAIT_MS:
                PkEntry.objects.filter(pk=entry.pk, match__isnull=True).update(since=now)
    cutoff = now - settings.PK_WAIT_MS
    candidates = (
        PkEntry.objects.filter(match__isnull=True, since__gte=cutoff)
        .exclude(user=user)
        .order_by("since", "pk")
        .values_list("pk", "user_id")[:CANDIDATES]
    )
    for other, other_user in candidates:
        try:
            return _pair(mine=entry.pk, user=user, theirs=other, their_user=other_user, now=now)
        except _Lost:
            current = selectors.current_player(user)
            if current is not None:  # someone paired us meanwhile
                return current
    return PkEntry.objects.get(pk=entry.pk)


def _pair(*, mine: int, user: User, theirs: int, their_user: int, now: int) -> PkPlayer:
    versions = draw_questions()
    if not versions:
        raise NoQuestions(_("No questions are open for PK yet."))
    cutoff = now - settings.PK_WAIT_MS
    with transaction.atomic():
        # Both entries locked first, in one order (by pk): two processes pairing the
        # same two players from either side would otherwise each claim its own row and
        # wait for the other's, a deadlock PostgreSQL breaks by failing one find.
        list(PkEntry.objects.select_for_update().filter(pk__in=(mine, theirs)).order_by("pk"))
        match = PkMatch.objects.create(
            next_at=now + settings.PK_READY_MS,
            question_ms=settings.PK_QUESTION_MS,
            reveal_ms=settings.PK_REVEAL_MS,
        )
        if not PkEntry.objects.filter(pk=mine, match__isnull=True).update(match=match):
            raise _Lost
        if not PkEntry.objects.filter(pk=theirs, match__isnull=True, since__gte=cutoff).update(
            match=match
        ):
            raise _Lost
        PkQuestion.objects.bulk_create(
            PkQuestion(match=match, position=n, version_id=v) for n, v in enumerate(versions)
        )
        opponent = User.objects.get(pk=their_user)
        names = pk_names(match, [opponent, user])
        PkPlayer.objects.create(match=match, user=opponent, seat=0, nickname=names[opponent.pk])
        player = PkPlayer.objects.create(match=match, user=user, seat=1, nickname=names[user.pk])
        # Wake the waiting player's sockets (they read the match from the database).
        publish(user_group(their_user), frames.found())
    return player


def pk_cancel(*, user: User) -> PkPlayer | None:
    """Leave the queue. If a match was found first, the user's seat in it."""
    if PkEntry.objects.filter(user=user, match__isnull=True).delete()[0]:
        return None
    return selectors.current_player(user)


def pk_waiting(*, user: User) -> tuple[PkPlayer | None, int | None]:
    """(the user's seat, None) once matched; (None, when the wait ends) while waiting;
    (None, None) when not in the queue. A wait that is over is ended here, unless a
    match claimed the entry first (then that match)."""
    current = selectors.current_player(user)
    if current is not None:
        return current, None
    entry = selectors.waiting_entry(user)
    if entry is None:
        return None, None
    until = entry.since + settings.PK_WAIT_MS
    if now_ms() <= until:
        return None, until
    if PkEntry.objects.filter(pk=entry.pk, match__isnull=True).delete()[0]:
        return None, None
    return selectors.current_player(user), None
