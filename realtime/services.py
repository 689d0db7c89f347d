"""Writes for live rounds: create, join, kick, lock. Host commands and answers are in
realtime.play. Every state change is a conditional update, published after commit."""

from __future__ import annotations

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import user_can_play
from quizzes.models import QuestionVersion, VersionStatus

from .events import publish
from .models import LivePlayer, LiveQuestion, LiveRound
from .nicknames import NicknameError, clean_nickname


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


@transaction.atomic
def player_join(*, live: LiveRound, nickname: str = "", user: User | None = None) -> LivePlayer:
    """Join a round in the lobby, or late until the host locks it."""
    if live.status in (LiveRound.Status.FINISHED, LiveRound.Status.ABORTED):
        raise ValidationError(_("This round is over."), code="round_over")
    if live.locked:
        raise ValidationError(_("The host has locked this round."), code="locked")
    if user is not None and user.is_authenticated:
        if not user_can_play(user=user):
            raise PermissionDenied(_("A guardian must agree before you can play."))
        existing = LivePlayer.objects.filter(round=live, user=user).first()
        if existing is not None:
            return existing
    try:
        name = clean_nickname(nickname)
    except NicknameError as error:
        raise ValidationError(str(error), code="nickname") from error
    try:
        with transaction.atomic():
            player = LivePlayer.objects.create(
                round=live, user=user if user and user.is_authenticated else None, nickname=name
            )
    except IntegrityError:
        raise ValidationError(
            _("Someone in this round already uses that nickname."), code="nickname_taken"
        ) from None
    publish(
        live.group_name,
        {"type": "player_joined", "player": {"id": player.pk, "nickname": player.nickname}},
        roles=["host", "screen"],
    )
    return player
