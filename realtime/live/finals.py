"""Buzzes (抢答) and stakes (风险) of the stage finals: one per team and question,
judged by the server's receive time (docs/architecture.md, live-round rule 1); a resend
gets the same reply. realtime.live.frames shapes the replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from .. import engine, scoring
from ..events import publish
from ..models import LiveBuzz, LivePlayer, LiveQuestion, LiveRound, LiveStake
from . import frames, selectors
from .answers import round_for_answer
from .state import timing_state


@dataclass(frozen=True)
class BuzzResult:
    """A buzz's outcome: accepted (`reason` empty) with its receive time (ms and µs)
    and whether it leads, or refused with a reason."""

    question: int
    reason: str = ""
    received_at: int | None = None
    received_us: int | None = None
    first: bool = False


@dataclass(frozen=True)
class StakeResult:
    """A stake's outcome: the stake recorded (`reason` empty), or refused with a reason."""

    question: int
    reason: str = ""
    stake: int | None = None


def _captain_of_round(player: LivePlayer) -> tuple[LiveRound, str]:
    """The round, share-locked as for an answer (call inside a transaction), and why
    this player may not buzz or stake in it ("" if they may)."""
    live = round_for_answer(player.round_id)
    if live.kind != LiveRound.Kind.FINALS:
        return live, "not_finals"
    if not player.is_captain or player.team_id is None:
        return live, "not_captain"
    if LivePlayer.objects.filter(pk=player.pk, kicked=True).exists():
        return live, "kicked"
    return live, ""


@transaction.atomic
def buzz_submit(
    *, player: LivePlayer, question_index: int, received_at: int, received_us: int | None = None
) -> BuzzResult:
    """抢答: record the team's buzz on the open buzzer question, by server receive time:
    `received_us`, the µs stamp the socket took (else `received_at` × 1000); the ms
    stored and shown are the stamp's. One buzz per team (a resend gets the same reply).
    The first valid buzz answers; buzzes less than 1 ms apart are a tie the host settles
    (realtime.scoring.buzzer_outcome, docs/scoring.md §6). Everyone is told who leads
    now, or of the tie."""
    if received_us is None:
        received_us = received_at * 1000
    received_at = received_us // 1000
    live, refused = _captain_of_round(player)
    if refused:
        return BuzzResult(question_index, refused)
    state = timing_state(live)
    # Locked: the buzzes of one question are judged one after the other, so each sees
    # those before it and the last announcement says how things stand.
    question = (
        LiveQuestion.objects.select_for_update().filter(round=live, position=question_index).first()
    )
    if question is None or question.turn != LiveQuestion.Turn.BUZZER:
        return BuzzResult(question_index, "not_buzzer")
    earlier = LiveBuzz.objects.filter(question=question, team_id=player.team_id).first()
    if earlier is not None:  # a resend: the same reply, whatever the state now
        return _buzz_recorded(live, question, earlier)
    if question_index != state.question_index:
        return BuzzResult(question_index, "not_current_question")
    verdict = engine.answer_accepted(state, received_at, 0)
    if not verdict:
        return BuzzResult(question_index, verdict.reason or "not_open")
    try:
        with transaction.atomic():
            buzz = LiveBuzz.objects.create(
                question=question,
                team_id=player.team_id,
                player=player,
                received_at=received_at,
                received_us=received_us,
            )
    except IntegrityError:  # the team's buzz from another of its sockets came first
        earlier = LiveBuzz.objects.get(question=question, team_id=player.team_id)
        return _buzz_recorded(live, question, earlier)
    outcome = selectors.buzz_outcome(live, question)
    if outcome.winner is not None and outcome.winner.buzz_id == buzz.pk:
        publish(live.group_name, frames.buzzed(question_index, outcome.winner))
    elif outcome.unsettled and any(b.buzz_id == buzz.pk for b in outcome.tied):
        publish(live.group_name, frames.buzz_tie(question_index, outcome.tied))
    return _buzz_result(question, buzz, outcome)


def _buzz_recorded(live: LiveRound, question: LiveQuestion, buzz: LiveBuzz) -> BuzzResult:
    return _buzz_result(question, buzz, selectors.buzz_outcome(live, question))


def _buzz_result(
    question: LiveQuestion, buzz: LiveBuzz, outcome: scoring.BuzzOutcome
) -> BuzzResult:
    return BuzzResult(
        question.position,
        received_at=buzz.received_at,
        received_us=buzz.received_us,
        first=outcome.winner is not None and outcome.winner.buzz_id == buzz.pk,
    )


@transaction.atomic
def stake_submit(
    *, player: LivePlayer, question_index: int, stake: Any, received_at: int
) -> StakeResult:
    """风险: the team whose turn it is chooses 10, 20 or 30 before the question is shown.
    One stake per team and question; a resend of the same stake gets the same reply."""
    live, refused = _captain_of_round(player)
    if refused:
        return StakeResult(question_index, refused)
    question = LiveQuestion.objects.filter(round=live, position=question_index).first()
    if question is None or question.turn != LiveQuestion.Turn.RISK:
        return StakeResult(question_index, "not_risk")
    if question.team_id != player.team_id:
        return StakeResult(question_index, "not_your_turn")
    existing = LiveStake.objects.filter(question=question, team_id=player.team_id).first()
    if existing is None:
        shown_at = question.opened_at if question.opened_at is not None else received_at + 1
        reason = scoring.stake_verdict(stake, chosen_at_ms=received_at, shown_at_ms=shown_at)
        if reason:
            return StakeResult(question_index, reason)
        try:
            with transaction.atomic():
                existing = LiveStake.objects.create(
                    question=question,
                    team_id=player.team_id,
                    player=player,
                    stake=stake,
                    chosen_at=received_at,
                )
        except IntegrityError:  # a concurrent stake of the same team won
            existing = LiveStake.objects.get(question=question, team_id=player.team_id)
        else:
            publish(live.group_name, frames.staked(question_index, player.team_id, stake))
    if existing.stake != stake:
        return StakeResult(question_index, "already_staked")
    return StakeResult(question_index, stake=existing.stake)
