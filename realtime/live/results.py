"""Results of a live round: rows per player, per question and per accepted answer, and
an XLSX export of them (issue 4, item 7).

The numbers are the ones the players saw: points, streaks and ranks come from
`realtime.live.standings.round_score` (which scores the recorded answers with
`realtime.scoring`) and are ranked with `leaderboards.ranking.rank_round`, as the
leaderboard is.
So only questions revealed so far count, and a voided question counts for nothing.
In team rounds the "teams" rows are `realtime.live.standings.standings`, the leaderboard the
players saw. The stage finals are scored per team only (docs/scoring.md): there the
players' own points and ranks are left empty.

The "answers" sheet is the audit trail: every accepted answer is a LiveAnswer row
(rejected answers are never stored), with the answer_id the client chose, the
response, the server's receive time (ms since the epoch, and as a Beijing time),
the answering time and whether it was correct.

Players are named as the viewer may see them (accounts.display, through
realtime.live.names): a child without the guardian's consent to public display has a
generated name and no school or district, except for the staff of the child's own
school. The file goes to the round's host only (realtime.live.views.host).

Cells a spreadsheet would run as formulas (a nickname "=HYPERLINK(…)", a fill-in
answer "+1") are escaped with `spreadsheets.escape_cell`, and every text cell
is written as a string, never a formula.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from accounts.models import User
from leaderboards.ranking import rank_round
from quizzes.bank.io.common import option_letters
from quizzes.models import CHOICE_TYPES, QuestionType
from quizzes.rich_text import plain_text
from spreadsheets import escape_cell

from ..models import LiveAnswer, LivePlayer, LiveQuestion, LiveRound
from ..scoring import RoundScore
from . import names
from .standings import round_score, standings
from .state import round_state

# The contest's clock: receive times in the export read as Beijing time, wherever the
# server runs.
AUDIT_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PlayerRow:
    rank: int | None  # None: not on the leaderboard (kicked before answering; finals)
    player: int
    nickname: str
    team: str  # "" outside team rounds
    school: str  # from the roster, or a signed-in player's profile; else ""
    district: str
    points: int | None  # None in the finals (teams are scored, not players)
    correct: int  # correct answers on counted questions
    answered: int  # answers on counted questions
    time_ms: int  # answer times summed; an unanswered question counts its full time
    best_streak: int
    kicked: bool


@dataclass(frozen=True)
class QuestionRow:
    index: int  # 0-based, as in the protocol
    type: str
    stem: str  # plain text
    points: int  # P
    answers: int  # accepted answers recorded
    correct: int  # of which correct
    voided: bool
    counted: bool  # revealed and not voided: its points are in the totals


@dataclass(frozen=True)
class AnswerRow:
    player: int
    nickname: str
    question: int  # 0-based index
    answer_id: str
    response: Any  # as stored (option ids, a boolean, text or a number)
    readable: str  # option letters for choices, else the response as text
    received_at: int  # server ms since the epoch
    received_iso: str  # the same instant in Asia/Shanghai, to the millisecond
    elapsed_ms: int
    correct: bool
    points: int | None  # what it earned; None while unrevealed, when voided, in the finals


@dataclass(frozen=True)
class TeamRow:
    rank: int
    team: int
    name: str
    points: int


@dataclass(frozen=True)
class Results:
    players: list[PlayerRow]
    questions: list[QuestionRow]
    answers: list[AnswerRow]
    teams: list[TeamRow]  # empty outside team rounds


def receive_time_iso(received_at_ms: int) -> str:
    """Server ms since the epoch as an ISO 8601 Beijing time, exact to the ms."""
    seconds, ms = divmod(received_at_ms, 1000)
    moment = datetime.fromtimestamp(seconds, AUDIT_TIMEZONE).replace(microsecond=ms * 1000)
    return moment.isoformat(timespec="milliseconds")


def _readable(version, response: Any) -> str:
    if version.type in CHOICE_TYPES:
        ids = [response] if isinstance(response, str) else list(response)
        return option_letters(version, ids)
    if version.type == QuestionType.TRUE_FALSE:
        return _("true") if response else _("false")
    return str(response)


def _player_rows(
    live: LiveRound,
    score: RoundScore,
    ranks: dict,
    individual: bool,
    shown: dict[int, str],
) -> list[PlayerRow]:
    """Every player who joined, ranked as on the leaderboard (unranked ones last).
    `shown`: {player: name} as the viewer may see it; a player shown under a generated
    name shows no school or district either."""
    team_names = dict(live.teams.values_list("pk", "name")) if live.plays_as_teams else {}
    players = []
    for player in (
        LivePlayer.objects.filter(round=live)
        .select_related("school", "district")
        .order_by("joined_at", "pk")
    ):
        total = score.totals.get(player.pk)
        named = shown[player.pk] == player.nickname
        players.append(
            PlayerRow(
                rank=ranks.get(player.pk),
                player=player.pk,
                nickname=shown[player.pk],
                team=team_names.get(player.team_id, ""),
                school=player.school.name if player.school and named else "",
                district=player.district.name if player.district and named else "",
                points=(total.points if total else 0) if individual else None,
                correct=total.correct if total else 0,
                answered=total.answered if total else 0,
                time_ms=total.time_ms if total else 0,
                best_streak=total.best_streak if total else 0,
                kicked=player.kicked,
            )
        )
    players.sort(key=lambda row: (row.rank is None, row.rank or 0, row.nickname))
    return players


def shown_names(live: LiveRound, viewer: User | None) -> dict[int, str]:
    """{player: name} of every player of the round (kicked ones too), as `viewer` may
    see them (accounts.display through realtime.live.names): the public's names; the
    host's own school's children by nickname, for a host who is their teacher."""
    rows = LivePlayer.objects.filter(round=live).order_by("pk")
    rows = list(rows.values_list("pk", "user_id", "nickname"))
    return names.for_viewer(live, rows, viewer)


def results_rows(live: LiveRound, *, viewer: User | None = None) -> Results:
    """Per player, per question and per accepted answer, scored as the players saw it;
    the players named as `viewer` (None: the public) may see them."""
    state = round_state(live)
    score = round_score(live, state)
    individual = live.kind != LiveRound.Kind.FINALS
    ranks = {r.id: r.rank for r in rank_round(score)} if individual else {}
    questions = list(
        LiveQuestion.objects.filter(round=live).select_related("version").order_by("position")
    )
    answers = list(
        LiveAnswer.objects.filter(round=live).order_by("question__position", "received_at", "pk")
    )
    by_question: dict[int, list[LiveAnswer]] = {}
    for answer in answers:
        by_question.setdefault(answer.question_id, []).append(answer)

    shown = shown_names(live, viewer)
    players = _player_rows(live, score, ranks, individual, shown)

    question_rows = []
    answer_rows = []
    for question in questions:
        mine = by_question.get(question.pk, [])
        # Scored: revealed so far (void questions are scored as nothing).
        counted = question.pk in score.per_question and not question.voided
        question_rows.append(
            QuestionRow(
                index=question.position,
                type=question.version.type,
                stem=plain_text(question.version.stem),
                points=question.points,
                answers=len(mine),
                correct=sum(a.correct for a in mine),
                voided=question.voided,
                counted=counted,
            )
        )
        results = score.per_question.get(question.pk, {}) if counted and individual else {}
        for answer in mine:
            result = results.get(answer.player_id)
            answer_rows.append(
                AnswerRow(
                    player=answer.player_id,
                    nickname=shown[answer.player_id],
                    question=question.position,
                    answer_id=answer.answer_id,
                    response=answer.response,
                    readable=_readable(question.version, answer.response),
                    received_at=answer.received_at,
                    received_iso=receive_time_iso(answer.received_at),
                    elapsed_ms=answer.elapsed_ms,
                    correct=answer.correct,
                    points=result.points if result is not None else None,
                )
            )

    teams = []
    if live.plays_as_teams:
        teams = [
            TeamRow(rank=row["rank"], team=row["team"], name=row["name"], points=row["points"])
            for row in standings(live, state).rows
        ]
    return Results(players=players, questions=question_rows, answers=answer_rows, teams=teams)


# --- XLSX ------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _cell(sheet, value: Any) -> WriteOnlyCell:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=escape_cell(value))
        cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell
    return WriteOnlyCell(sheet, value=value)


def _sheet(workbook: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    sheet = workbook.create_sheet(title)
    for row in [header, *rows]:
        sheet.append([_cell(sheet, value) for value in row])


def results_xlsx(live: LiveRound, *, viewer: User | None = None) -> bytes:
    """The results as a workbook: players, questions, answers (and teams in team
    rounds), the players named as `viewer` may see them. Headers and sheet names in
    the active language."""
    results = results_rows(live, viewer=viewer)
    teams = live.plays_as_teams
    workbook = Workbook(write_only=True)
    _players_sheet(workbook, results, teams=teams)
    _questions_sheet(workbook, results)
    _answers_sheet(workbook, results)
    if teams:
        _sheet(
            workbook,
            _("Teams"),
            [_("Rank"), _("Team"), _("Points")],
            [[t.rank, t.name, t.points] for t in results.teams],
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _players_sheet(workbook: Workbook, results: Results, *, teams: bool) -> None:
    _sheet(
        workbook,
        _("Players"),
        [
            _("Rank"),
            _("Nickname"),
            *([_("Team")] if teams else []),
            _("School"),
            _("District"),
            _("Points"),
            _("Correct answers"),
            _("Answered"),
            _("Time (ms)"),
            _("Best streak"),
            _("Kicked"),
        ],
        [
            [
                p.rank,
                p.nickname,
                *([p.team] if teams else []),
                p.school,
                p.district,
                p.points,
                p.correct,
                p.answered,
                p.time_ms,
                p.best_streak,
                _yes_no(p.kicked),
            ]
            for p in results.players
        ],
    )


def _questions_sheet(workbook: Workbook, results: Results) -> None:
    _sheet(
        workbook,
        _("Questions"),
        [
            _("Question"),
            _("Type"),
            _("Stem"),
            _("Points"),
            _("Answers received"),
            _("Correct answers"),
            _("Voided"),
            _("Counted"),
        ],
        [
            [
                q.index + 1,
                str(QuestionType(q.type).label),
                q.stem,
                q.points,
                q.answers,
                q.correct,
                _yes_no(q.voided),
                _yes_no(q.counted),
            ]
            for q in results.questions
        ],
    )


def _answers_sheet(workbook: Workbook, results: Results) -> None:
    _sheet(
        workbook,
        _("Answers"),
        [
            _("Player"),
            _("Question"),
            _("Answer ID"),
            _("Response"),
            _("Response (readable)"),
            _("Received (ms since epoch)"),
            _("Received (Beijing time)"),
            _("Elapsed (ms)"),
            _("Correct"),
            _("Points"),
        ],
        [
            [
                a.nickname,
                a.question + 1,
                a.answer_id,
                json.dumps(a.response, ensure_ascii=False),
                a.readable,
                a.received_at,
                a.received_iso,
                a.elapsed_ms,
                _yes_no(a.correct),
                a.points,
            ]
            for a in results.answers
        ],
    )
