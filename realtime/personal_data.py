"""realtime's personal data, registered with accounts.personal_data (RealtimeConfig.ready).

A player has live-round seats (nickname, team, school, answers, buzzes, stakes, the
roster entry that seated them) and PK matches (nickname, answers) and perhaps a place
in the PK queue; a teacher has the rounds they hosted.

On deletion the seats and matches stay, so the round's and the school's results still
add up, but nothing names the person: the nickname, and the name on the roster entry
that seated them, become a neutral generated name ("Deleted player 1234", unique by
the row's id, as the round's name constraints need); fill-in answers they typed are
blanked; the resume token is replaced, so no device resumes the seat; the PK queue
entry goes.
"""

from __future__ import annotations

from typing import Any

from accounts.personal_data import blank_answers, neutral_name, register, row, rows
from quizzes.bank.answers import FILL

from .models import (
    LiveAnswer,
    LiveBuzz,
    LivePlayer,
    LiveRound,
    LiveStake,
    PkAnswer,
    PkEntry,
    PkPlayer,
    RosterEntry,
    new_player_token,
)

SECRET = ("token", "permutation_seed")  # a device's resume secret is not the person's data


def _by_player(queryset) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for obj in queryset.order_by("pk"):
        grouped.setdefault(obj.player_id, []).append(row(obj))
    return grouped


def _live_players(user) -> list[dict[str, Any]]:
    """Every seat, with its answers, buzzes and stakes: one query per kind, whatever
    the number of rounds."""
    players = LivePlayer.objects.filter(user=user).select_related("round", "team", "school")
    mine = {"player__user": user}
    answers = _by_player(LiveAnswer.objects.filter(**mine))
    buzzes = _by_player(LiveBuzz.objects.filter(**mine))
    stakes = _by_player(LiveStake.objects.filter(**mine))
    roster = dict(RosterEntry.objects.filter(**mine).values_list("player_id", "name"))
    return [
        {
            **row(player, leave_out=SECRET),
            "round_title": player.round.title,
            "round_created_at": row(player.round)["created_at"],
            "team_name": player.team.name if player.team else None,
            "school_name": player.school.name if player.school else None,
            "roster_name": roster.get(player.pk),
            "answers": answers.get(player.pk, []),
            "buzzes": buzzes.get(player.pk, []),
            "stakes": stakes.get(player.pk, []),
        }
        for player in players.order_by("pk")
    ]


def _erase_live_players(user) -> None:
    for pk in LivePlayer.objects.filter(user=user).values_list("pk", flat=True):
        name = neutral_name(pk)
        LivePlayer.objects.filter(pk=pk).update(nickname=name, token=new_player_token())
        RosterEntry.objects.filter(player_id=pk).update(name=name)
    blank_answers(
        LiveAnswer.objects.filter(player__user=user, question__version__type=FILL), "response"
    )


def _pk_players(user) -> list[dict[str, Any]]:
    answers = _by_player(PkAnswer.objects.filter(player__user=user))
    return [
        {**row(player, leave_out=SECRET), "answers": answers.get(player.pk, [])}
        for player in PkPlayer.objects.filter(user=user).order_by("pk")
    ]


def _erase_pk_players(user) -> None:
    for pk in PkPlayer.objects.filter(user=user).values_list("pk", flat=True):
        PkPlayer.objects.filter(pk=pk).update(nickname=neutral_name(pk), token=new_player_token())
    blank_answers(
        PkAnswer.objects.filter(player__user=user, question__version__type=FILL), "response"
    )


def register_realtime() -> None:
    register(
        LivePlayer,
        key="live_round_players",
        user_fields=("user",),
        export=_live_players,
        erase=_erase_live_players,
    )
    register(
        PkPlayer,
        key="pk_players",
        user_fields=("user",),
        export=_pk_players,
        erase=_erase_pk_players,
    )
    register(
        PkEntry,
        key="pk_queue",
        user_fields=("user",),
        export=lambda user: rows(PkEntry.objects.filter(user=user)),
        erase=lambda user: PkEntry.objects.filter(user=user).delete(),
    )
    register(
        LiveRound,
        key="live_rounds_hosted",
        user_fields=("host",),
        export=lambda user: [
            {name: row(live)[name] for name in ("id", "title", "kind", "status", "created_at")}
            for live in LiveRound.objects.filter(host=user).order_by("pk")
        ],
        kept="a round a teacher hosted: its title is the round's, and it points at the "
        "user row, which deletion anonymises; the players' results need the round",
    )
