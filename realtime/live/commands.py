"""Host commands of a live round: the engine's commands (start, close, reveal, …),
kick, lock, and the award of a buzzer tie in the stage finals.

Every state change goes through `realtime.engine.apply` and is written back with a
conditional UPDATE on `seq` (docs/architecture.md, live-round rule 1), so two hosts pressing
"next" at once, or a host and the close timer, change the round once. The frames
(realtime.live.frames) are published after commit (realtime.events).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User

from .. import engine
from ..events import publish
from ..models import LiveBuzz, LivePlayer, LiveQuestion, LiveRound
from . import frames, selectors
from .standings import standings
from .state import CommandRefused, is_host, now_ms, round_state, state_fields


def duration_ms(live: LiveRound, question: LiveQuestion) -> int:
    return (question.seconds or live.seconds_per_question) * 1000


def round_command(
    *,
    live: LiveRound,
    actor: User | None,
    name: str,
    question_index: int | None = None,
    if_seq: int | None = None,
) -> engine.RoundState:
    """Apply one host command. Raises PermissionDenied for anyone but the round's host
    and CommandRefused when the state does not allow it; nothing changes then.
    With `if_seq`, only if the round has not moved since (the close timer)."""
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    for _attempt in range(5):
        with transaction.atomic():
            fresh = LiveRound.objects.get(pk=live.pk)
            questions = selectors.round_questions(fresh)
            state = round_state(fresh, len(questions))
            if if_seq is not None and state.seq != if_seq:
                raise CommandRefused("stale", "the round has moved on")
            duration = None
            if name in (engine.START, engine.NEXT) and state.question_index + 1 < len(questions):
                duration = duration_ms(fresh, questions[state.question_index + 1])
            try:
                new, events = engine.apply(
                    state,
                    engine.Command(name, duration_ms=duration, question_index=question_index),
                    now_ms(),
                )
            except engine.IllegalCommand as refused:
                raise CommandRefused(refused.code, str(refused)) from None
            updated = LiveRound.objects.filter(pk=fresh.pk, seq=state.seq).update(
                **state_fields(new)
            )
            if not updated:
                continue  # someone else moved the round first: read it again
            if name == engine.VOID:
                LiveQuestion.objects.filter(round=fresh, position=question_index).update(
                    voided=True
                )
            if name in (engine.START, engine.NEXT):
                LiveQuestion.objects.filter(round=fresh, position=new.question_index).update(
                    opened_at=new.opened_at
                )
            fresh.__dict__.update(state_fields(new))
            publish_events(fresh, questions, new, events)
            return new
    raise CommandRefused("busy", "the round kept changing; try again")


def publish_events(
    live: LiveRound,
    questions: list[LiveQuestion],
    state: engine.RoundState,
    events: list[engine.Event],
) -> None:
    """Publish the engine's events as frames, after commit: an opened question with its
    shared frame, a reveal with the key and the standings, each player's part apart."""
    for event in events:
        per_player = None
        if event.type == "question_opened":
            frame = frames.round_event(
                event,
                question=frames.question(live, questions[state.question_index], state),
                server_now=now_ms(),
            )
        elif event.type in ("revealed", "question_voided", "leaderboard", "finished"):
            reveal: dict[str, Any] | None = None
            if event.type == "revealed":
                current = questions[state.question_index]
                reveal = frames.reveal(
                    current, selectors.answer_responses(current), selectors.answer_count(current)
                )
            standing = standings(live, state)
            frame = frames.round_event(event, reveal=reveal, leaderboard=standing.top())
            per_player = standing.you
        elif event.type == "resumed" and state.status == engine.Status.QUESTION_OPEN:
            frame = frames.round_event(event, opened_at=state.opened_at, server_now=now_ms())
        else:
            frame = frames.round_event(event)
        publish(live.group_name, frame, per_player=per_player)


@transaction.atomic
def player_kick(*, live: LiveRound, actor: User | None, player_id: int) -> None:
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    if LivePlayer.objects.filter(round=live, pk=player_id, kicked=False).update(kicked=True):
        publish(live.group_name, frames.kicked(player_id), to=player_id)
        publish(live.group_name, frames.player_left(player_id), roles=["host", "screen"])


@transaction.atomic
def round_lock(*, live: LiveRound, actor: User | None, locked: bool) -> None:
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    if LiveRound.objects.filter(pk=live.pk).exclude(locked=locked).update(locked=locked):
        publish(live.group_name, frames.locked(locked), roles=["host", "screen"])


@transaction.atomic
def buzz_award(*, live: LiveRound, actor: User | None, question_index: int, team_id: int) -> None:
    """Settle a buzzer tie (docs/scoring.md §6): the host gives the current question to
    one of the teams tied for first, by the rule the competition announced (lots drawn
    on stage). Only while the question is open, or paused open; once per question: an
    award is final. Everyone is told who answers (`buzzed` with `awarded`)."""
    if not is_host(live, actor):
        raise PermissionDenied(_("Only the host of this round can do that."))
    fresh = LiveRound.objects.get(pk=live.pk)
    visible = fresh.paused_from if fresh.status == LiveRound.Status.PAUSED else fresh.status
    if fresh.status in (LiveRound.Status.FINISHED, LiveRound.Status.ABORTED):
        raise CommandRefused("round_over", _("This round is over."))
    if question_index != fresh.question_index:
        raise CommandRefused(
            "bad_question_index", _("Only a tie on the current question can be settled.")
        )
    if visible != LiveRound.Status.QUESTION_OPEN:
        raise CommandRefused(
            "not_allowed_in_status", _("A tie is settled while its question is open.")
        )
    # Locked like a buzz: no buzz is judged while the award is made.
    question = (
        LiveQuestion.objects.select_for_update()
        .filter(round=fresh, position=question_index)
        .first()
    )
    outcome = (
        selectors.buzz_outcome(fresh, question)
        if question is not None and question.turn == LiveQuestion.Turn.BUZZER
        else None
    )
    chosen = next((b for b in outcome.tied if b.team == team_id), None) if outcome else None
    if outcome is None or not outcome.unsettled or chosen is None:
        raise CommandRefused("not_tied", _("That team is not in a tie still to be settled."))
    LiveBuzz.objects.filter(pk=chosen.buzz_id).update(awarded=True)
    awarded = selectors.buzz_outcome(fresh, question).winner
    if awarded is not None:
        publish(fresh.group_name, frames.buzzed(question_index, awarded))
