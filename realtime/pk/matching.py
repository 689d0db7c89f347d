"""PK matchmaking: the queue is the PkEntry table, one row per waiting user.

A process gathers the finds its sockets receive (realtime.batch) and handles them in one
call (`pk_finds`): it puts the new players in the queue, then claims waiting players in
bulk, oldest first, in one transaction (on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`,
so two processes claiming at once take different players and neither waits; SQLite's
IMMEDIATE transactions let one writer at a time in), pairs them in order, creates the
matches and deletes the claimed rows in the same transaction. A row lives only while
its player waits: matched, cancelled or timed out, it is gone. A claim takes any waiting
player, whichever process it waits on: that player's sockets hear of it through its
relay group (and check every second). A wait ends after settings.PK_WAIT_MS.

Questions: 5 published single-choice and true/false questions, drawn at random from the
banks that have a blueprint open to players (what players may practise at will), the
same for both players, each player with a private option order.
"""

from __future__ import annotations

import contextlib
import random

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.display import public_names
from accounts.models import Profile, User
from accounts.selectors import user_can_play

from ..events import publish
from ..live.nicknames import MAX_LENGTH as NICKNAME_MAX_LENGTH
from ..live.nicknames import NicknameError, clean_nickname, generated_nickname
from ..live.state import now_ms
from ..models import PkEntry, PkMatch, PkPlayer, PkQuestion
from . import frames, selectors
from .match import QUESTIONS, TYPES

MAX_CLAIM = 1000  # waiting players claimed by one transaction


class NoQuestions(Exception):  # noqa: N818 - a refusal the protocol reports
    """No published question is open to players: no match can be made."""


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


def drawable() -> list[int]:
    """Ids of the newest published single-choice or true/false version of each
    question from the banks with a blueprint open to players."""
    by_question: dict[int, int] = {}
    for pk, question in selectors.drawable_versions(TYPES):
        by_question[question] = max(pk, by_question.get(question, 0))
    return sorted(by_question.values())


def draw_questions(count: int = QUESTIONS, ids: list[int] | None = None) -> list[int]:
    """`count` of the drawable versions (or of `ids`), at random."""
    ids = drawable() if ids is None else ids
    return random.sample(ids, min(count, len(ids)))


Found = PkPlayer | PkEntry | Exception


def pk_find(*, user: User) -> PkPlayer | PkEntry:
    """Find an opponent (one find of `pk_finds`): the user's seat if a match is on or
    one is made now, else the user's (one) waiting entry. Raises PermissionDenied for
    anyone who may not play and NoQuestions when no questions are open to players."""
    [found] = pk_finds([user])
    if isinstance(found, Exception):
        raise found
    return found


def pk_finds(users: list[User]) -> list[Found]:
    """The finds a process gathered, in one go; for each user (in order) its seat, its
    waiting entry, or the refusal (PermissionDenied, NoQuestions) as a value."""
    now = now_ms()
    found: dict[int, Found] = {}
    playable: dict[int, User] = {}
    # The profiles at once; accounts' own check (user_can_play) for the accounts that
    # may need a guardian's consent, and for anyone without a profile.
    adults = {
        p.user_id
        for p in Profile.objects.filter(user__in=[u.pk for u in users]).only("user", "birth_year")
        if not p.needs_guardian_consent
    }
    for user in users:
        if user.pk in found or user.pk in playable:
            continue
        if (user.pk in adults and user.is_active) or user_can_play(user=user):
            playable[user.pk] = user
        else:
            found[user.pk] = PermissionDenied(
                _("Sign in (and for children, a guardian's consent) to play.")
            )
    found.update(selectors.current_players(list(playable)))
    waiting = [pk for pk in playable if pk not in found]
    if waiting:
        _enqueue(waiting, now)
        try:
            found.update(_match_waiting(now))
        except NoQuestions as none:
            found.update((pk, none) for pk in waiting if pk not in found)
        left = [pk for pk in waiting if pk not in found]
        found.update((e.user_id, e) for e in PkEntry.objects.filter(user_id__in=left))
        # Lost between the queries (a wait that ended, a match made and finished):
        for pk in left:
            found.setdefault(pk, PkEntry(user_id=pk, since=now))
    return [found[user.pk] for user in users]


def _enqueue(user_ids: list[int], now: int) -> None:
    """The users in the queue: a new row since now; an existing row kept (a second find
    is the same wait), unless its wait is over (then it begins again)."""
    cutoff = now - settings.PK_WAIT_MS
    PkEntry.objects.filter(user_id__in=user_ids, since__lt=cutoff).update(since=now)
    PkEntry.objects.bulk_create(
        [PkEntry(user_id=pk, since=now) for pk in user_ids], ignore_conflicts=True
    )


def _claimed(cutoff: int) -> list[tuple[int, int]]:
    """(entry, user) of waiting players, oldest first, locked until the transaction
    ends; on PostgreSQL rows another process holds are skipped, not waited for."""
    waiting = PkEntry.objects.filter(since__gte=cutoff).order_by("since", "pk")
    if connection.features.has_select_for_update_skip_locked:
        waiting = waiting.select_for_update(skip_locked=True)
    return list(waiting.values_list("pk", "user_id")[:MAX_CLAIM])


def _match_waiting(now: int) -> dict[int, PkPlayer]:
    """Claim waiting players and pair them, oldest first, in one transaction: the
    matches made, their questions and seats, the claimed rows deleted. {user id: seat}
    of everyone matched; the waiting players hear of it after the commit."""
    cutoff = now - settings.PK_WAIT_MS
    with transaction.atomic():
        claimed = _claimed(cutoff)
        # A row put back by a find that raced with the match that had just taken it:
        # that player plays already, and the row goes.
        playing = selectors.current_players([user for _entry, user in claimed])
        if playing:
            stale = [entry for entry, user in claimed if user in playing]
            PkEntry.objects.filter(pk__in=stale).delete()
            claimed = [(entry, user) for entry, user in claimed if user not in playing]
        pairs = [claimed[n : n + 2] for n in range(0, len(claimed) - 1, 2)]
        if not pairs:
            return {}
        ids = drawable()
        if not ids:
            raise NoQuestions(_("No questions are open for PK yet."))
        matches = PkMatch.objects.bulk_create(
            PkMatch(
                next_at=now + settings.PK_READY_MS,
                question_ms=settings.PK_QUESTION_MS,
                reveal_ms=settings.PK_REVEAL_MS,
            )
            for _pair in pairs
        )
        PkQuestion.objects.bulk_create(
            PkQuestion(match=match, position=n, version_id=v)
            for match in matches
            for n, v in enumerate(draw_questions(ids=ids))
        )
        users = User.objects.in_bulk([user for pair in pairs for _entry, user in pair])
        seats = []
        for match, pair in zip(matches, pairs, strict=True):
            both = [users[user] for _entry, user in pair]
            names = pk_names(match, both)
            seats += [
                PkPlayer(match=match, user=user, seat=seat, nickname=names[user.pk])
                for seat, user in enumerate(both)
            ]
        PkPlayer.objects.bulk_create(seats)
        PkEntry.objects.filter(pk__in=[entry for pair in pairs for entry, _user in pair]).delete()
        for seat in seats:
            # Wake the player's sockets (they read the match from the database).
            publish(user_group(seat.user_id), frames.found())
    return {seat.user_id: seat for seat in seats}


def pk_cancel(*, user: User) -> PkPlayer | None:
    """Leave the queue. If a match was found first, the user's seat in it."""
    if PkEntry.objects.filter(user=user).delete()[0]:
        return None
    return selectors.current_player(user)


Waiting = tuple[PkPlayer | None, int | None]


def pk_waiting(*, user: User) -> Waiting:
    """(the user's seat, None) once matched; (None, when the wait ends) while waiting;
    (None, None) when not in the queue. A wait that is over is ended here, unless a
    match claimed the entry first (then that match)."""
    [waiting] = pk_waitings([user])
    return waiting


def pk_waitings(users: list[User]) -> list[Waiting]:
    """pk_waiting for the waiting sockets of a process at once (realtime.batch), in a
    few queries; while some of them still wait, the waiting players are matched again
    (any process's: a row another process is claiming is skipped)."""
    ids = list(dict.fromkeys(user.pk for user in users))
    seats = selectors.current_players(ids)
    entries = {
        e.user_id: e for e in PkEntry.objects.filter(user_id__in=[i for i in ids if i not in seats])
    }
    now = now_ms()
    over = [e for e in entries.values() if now > e.since + settings.PK_WAIT_MS]
    if over:
        ended = {e.pk for e in over}
        for entry in over:  # only a row still waiting, not one a match claimed meanwhile
            if not PkEntry.objects.filter(pk=entry.pk, since=entry.since).delete()[0]:
                ended.discard(entry.pk)
        late = selectors.current_players([e.user_id for e in over if e.pk not in ended])
        seats.update(late)
        for entry in over:
            entries.pop(entry.user_id)
    if entries:
        # Two left over by finds on two processes at once (each skipped the row the
        # other had locked) are paired here, at their next check.
        with contextlib.suppress(NoQuestions):
            matched = _match_waiting(now)
            seats.update((pk, seat) for pk, seat in matched.items() if pk in entries)
            entries = {pk: e for pk, e in entries.items() if pk not in matched}
    found: dict[int, Waiting] = {pk: (seat, None) for pk, seat in seats.items()}
    for pk, entry in entries.items():
        found[pk] = (None, entry.since + settings.PK_WAIT_MS)
    return [found.get(user.pk, (None, None)) for user in users]
