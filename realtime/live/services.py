"""Writes for live rounds: create, teams and turns, join, rosters. Host commands are in
realtime.live.commands, answers in realtime.live.answers. Every state change is a
conditional update, published after commit."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import device_may_play_as_guest, user_can_play
from quizzes.bank.content import without_controls
from quizzes.models import QuestionVersion, VersionStatus

from ..events import publish
from ..models import (
    LivePlayer,
    LiveQuestion,
    LiveRound,
    LiveTeam,
    RosterEntry,
    new_player_token,
)
from . import frames, names
from .forms import MAX_TEAM_NAME, MAX_TEAMS
from .nicknames import NicknameError, clean_nickname
from .roster import read_roster


def _new_pin() -> str:
    """Six digits from a cryptographic source, not starting with 0 (easier to read)."""
    return str(100000 + secrets.randbelow(900000))


@transaction.atomic
def round_create(
    *,
    host: User,
    title: str,
    versions: list[QuestionVersion],
    kind: str = LiveRound.Kind.CLASSIC,
    seconds_per_question: int = 20,
    streak_bonus: bool = False,
    join_mode: str = LiveRound.JoinMode.OPEN,
    team_mode: str = LiveRound.TeamMode.NONE,
) -> LiveRound:
    if not (host.is_staff_member or host.is_superuser):
        raise PermissionDenied(_("Only teachers and organizers host live rounds."))
    if not versions:
        raise ValidationError(_("A live round needs at least one question."))
    if any(v.status != VersionStatus.PUBLISHED for v in versions):
        raise ValidationError(_("Only published questions can be played."))
    for _attempt in range(20):
        try:
            with transaction.atomic():
                live = LiveRound.objects.create(
                    host=host,
                    title=title,
                    pin=_new_pin(),
                    kind=kind,
                    seconds_per_question=seconds_per_question,
                    streak_bonus=streak_bonus,
                    join_mode=join_mode,
                    team_mode=team_mode,
                )
            break
        except IntegrityError:
            continue  # the PIN is taken by an active round: draw another
    else:
        raise ValidationError(_("No free PIN could be found; try again."))
    LiveQuestion.objects.bulk_create(
        LiveQuestion(round=live, position=i, version=v) for i, v in enumerate(versions)
    )
    return live


def _host_in_lobby(live: LiveRound, actor: User) -> None:
    if not (actor.is_authenticated and (actor.pk == live.host_id or actor.is_superuser)):
        raise PermissionDenied(_("Only the host of this round can do that."))
    if not LiveRound.objects.filter(pk=live.pk, status=LiveRound.Status.LOBBY).exists():
        raise ValidationError(_("Teams and turns are set before the round starts."))


@transaction.atomic
def team_create(*, live: LiveRound, actor: User, name: str, school=None) -> LiveTeam:
    """A team of a team round or of the stage finals, made by the host in the lobby."""
    _host_in_lobby(live, actor)
    name = " ".join(without_controls(str(name)).split())[:MAX_TEAM_NAME]
    if not name:
        raise ValidationError(_("A team needs a name."), code="team_name")
    position = live.teams.count()
    if position >= MAX_TEAMS:  # every snapshot lists the teams: a bounded list
        raise ValidationError(
            _("A round has at most %(n)s teams.") % {"n": MAX_TEAMS}, code="teams"
        )
    try:
        with transaction.atomic():
            return LiveTeam.objects.create(round=live, name=name, school=school, position=position)
    except IntegrityError:
        raise ValidationError(
            _("This round already has a team of that name."), code="team_name"
        ) from None


@transaction.atomic
def question_turn_set(
    *,
    live: LiveRound,
    actor: User,
    position: int,
    turn: str,
    team: LiveTeam | None = None,
    value: int | None = None,
) -> LiveQuestion:
    """Who answers a question of the finals: everyone, one named team (compulsory,
    risk), the first to buzz, or nobody for points (tie-break)."""
    _host_in_lobby(live, actor)
    if turn not in LiveQuestion.Turn.values:
        raise ValidationError(_("Unknown turn."), code="turn")
    named = turn in (LiveQuestion.Turn.COMPULSORY, LiveQuestion.Turn.RISK)
    if named and (team is None or team.round_id != live.pk):
        raise ValidationError(_("Name the team whose turn it is."), code="team")
    if value is not None and not 0 < value <= 100:
        raise ValidationError(_("A question is worth 1 to 100 points."), code="value")
    question = LiveQuestion.objects.get(round=live, position=position)
    question.turn = turn
    question.team = team if named else None
    if value is not None:
        question.value = value
    question.save(update_fields=["turn", "team", "value"])
    return question


def _guest_device_check(user: User | None, device_cookies: Mapping[str, str] | None) -> None:
    """A guest (no account) may not join from a device of a child who may not play
    (accounts.selectors.device_may_play_as_guest); the socket says consent_required."""
    if user is not None and user.is_authenticated:
        return
    if not device_may_play_as_guest(cookies=device_cookies):
        raise PermissionDenied(_("A guardian must agree before you can play."))


@transaction.atomic
def player_join(
    *,
    live: LiveRound,
    nickname: str = "",
    user: User | None = None,
    team: LiveTeam | None = None,
    device_cookies: Mapping[str, str] | None = None,
) -> LivePlayer:
    """Join a round in the lobby, or late until the host locks it. In team rounds the
    player names a team; in one-device-per-team rounds and the finals the first to join
    a team is its captain, the device that answers. `device_cookies` are the joining
    device's (the socket's scope): a guest on a child's device is refused."""
    if live.status in (LiveRound.Status.FINISHED, LiveRound.Status.ABORTED):
        raise ValidationError(_("This round is over."), code="round_over")
    if live.locked:
        raise ValidationError(_("The host has locked this round."), code="locked")
    _guest_device_check(user, device_cookies)
    if user is not None and user.is_authenticated:
        if not user_can_play(user=user):
            raise PermissionDenied(_("A guardian must agree before you can play."))
        existing = LivePlayer.objects.filter(round=live, user=user).first()
        if existing is not None:
            return existing
    if live.join_mode == LiveRound.JoinMode.ROSTER:
        raise ValidationError(_("Join this round with the slip from your teacher."), code="roster")
    return _player_create(live=live, nickname=nickname, user=user, team=team)


def _player_create(*, live, nickname, user, team, school=None, district=None) -> LivePlayer:
    if live.plays_as_teams and (team is None or team.round_id != live.pk):
        raise ValidationError(_("Choose your team."), code="team")
    if not live.plays_as_teams:
        team = None
    try:
        name = clean_nickname(nickname)
    except NicknameError as error:
        raise ValidationError(str(error), code="nickname") from error
    user = user if user and user.is_authenticated else None
    if user is not None and school is None and district is None:
        profile = getattr(user, "profile", None)
        if profile is not None:
            school, district = profile.school, profile.district
    fields = {
        "round": live,
        "user": user,
        "nickname": name,
        "team": team,
        "school": school,
        "district": district,
    }
    if live.captains_answer:
        # The first to join the team is its device; the constraint settles a race.
        try:
            with transaction.atomic():
                player = LivePlayer.objects.create(**fields, is_captain=True)
        except IntegrityError:
            player = None
    else:
        player = None
    if player is None:
        try:
            with transaction.atomic():
                player = LivePlayer.objects.create(**fields)
        except IntegrityError:
            raise ValidationError(
                _("Someone in this round already uses that nickname."), code="nickname_taken"
            ) from None
    announce_join(live, player)
    return player


def announce_join(live: LiveRound, player: LivePlayer) -> None:
    """The projector shows the public name (accounts.display); the host its own view
    (realtime.live.names.for_host). One frame when they agree."""
    row = [names.row(player)]
    public = names.public(live, row)[player.pk]
    # Only a name the public may not see can differ for the host: ask only then.
    hosts = public if public == player.nickname else names.for_host(live, row)[player.pk]
    if public == hosts:
        publish(live.group_name, frames.player_joined(player, public), roles=["host", "screen"])
        return
    publish(live.group_name, frames.player_joined(player, public), roles=["screen"])
    publish(live.group_name, frames.player_joined(player, hosts), roles=["host"])


@transaction.atomic
def roster_import(*, live: LiveRound, actor: User, data: bytes, filename: str):
    """Take a roster file whole or not at all; returns (entries, report). Teams named
    in it are made as needed. Only in the lobby, by the host."""
    _host_in_lobby(live, actor)
    rows, report = read_roster(data, filename, teams=live.plays_as_teams)
    if not report.ok:
        return [], report
    taken = set(live.roster.values_list("name", flat=True))
    for row in rows:
        if row.name in taken:
            report.error(
                _("“%(name)s” is already on this round's roster.") % {"name": row.name},
                row=row.row,
            )
    if not report.ok:
        return [], report
    teams = {team.name: team for team in live.teams.all()}
    entries = []
    for row in rows:
        team = None
        if live.plays_as_teams:
            team = teams.get(row.team) or team_create(live=live, actor=actor, name=row.team)
            teams[team.name] = team
        entries.append(RosterEntry(round=live, name=row.name, school=row.school, team=team))
    return RosterEntry.objects.bulk_create(entries), report


@transaction.atomic
def roster_join(
    *,
    live: LiveRound,
    token: str,
    user: User | None = None,
    device_cookies: Mapping[str, str] | None = None,
) -> LivePlayer:
    """Join with a roster slip: the name, school, district and team come from the
    roster; nothing is typed. The same slip again, on another device (or on this one
    once it lost its resume token), gives back the same player and takes the seat over
    (seat_take_over): one device per player."""
    entry = (
        RosterEntry.objects.select_for_update(of=("self",))
        .select_related("school", "player")
        .filter(round=live, token=token)
        .first()
    )
    if entry is None:
        raise ValidationError(_("This join slip is not for this round."), code="roster_token")
    _guest_device_check(user, device_cookies)
    if entry.player is not None:
        if entry.player.kicked:
            raise ValidationError(_("The host has removed you from this round."), code="kicked")
        return seat_take_over(live=live, player=entry.player)
    if live.status in (LiveRound.Status.FINISHED, LiveRound.Status.ABORTED):
        raise ValidationError(_("This round is over."), code="round_over")
    if live.locked:
        raise ValidationError(_("The host has locked this round."), code="locked")
    if user is not None and user.is_authenticated and not user_can_play(user=user):
        raise PermissionDenied(_("A guardian must agree before you can play."))
    player = _player_create(
        live=live,
        nickname=entry.name,
        user=user,
        team=entry.team,
        school=entry.school,
        district=entry.school.district,
    )
    entry.player = player
    entry.save(update_fields=["player"])
    return player


def seat_take_over(*, live: LiveRound, player: LivePlayer) -> LivePlayer:
    """A device takes the player's seat (call inside the transaction that holds the
    slip's row locked): the resume token is replaced, so earlier devices can no longer
    resume, and the seat's device number moves on. After commit the earlier devices'
    sockets get `replaced` and are closed (the socket of the new device, whose number
    is the frame's, drops it: realtime.consumers.RoundConsumer.send_text), and the host
    gets `player_replaced`, which names the player."""
    LivePlayer.objects.filter(pk=player.pk).update(device=F("device") + 1, token=new_player_token())
    player.refresh_from_db(fields=["device", "token"])
    publish(live.group_name, frames.replaced(player.pk, player.device), to=player.pk)
    name = names.for_host(live, [names.row(player)])[player.pk]
    publish(live.group_name, frames.player_replaced(player, name), roles=["host"])
    return player
