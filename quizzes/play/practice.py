"""Practice modes' blueprints and shared parts: what a daily quiz and a timed challenge
are made of and making their blueprints (the organizer's pages, demo data), the
practice day (Asia/Shanghai), and whether a blueprint of a mode is open to a player.
The modes' services are
quizzes.play.daily (the daily quiz), quizzes.play.challenge (the timed challenge),
quizzes.play.themes (themed practice) and quizzes.play.adaptive (the literacy
self-test); quizzes.play.overview gathers them for the practice home.

Guests (quizzes.play.guest) play the daily quiz and the timed challenge of blueprints open
to players and meant for everyone (no audience): guest_daily_start and
guest_challenge_start make papers without a user, which only the guest's session may
open; a guest's daily paper copies the day's set like everyone's. Themed practice is
for accounts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Profile, User
from quizzes.models import Blueprint
from quizzes.papers.blueprints import blueprint_create, blueprint_open_to
from quizzes.play.adaptive import ADAPTIVE_TYPES

AUDIENCES = set(Profile.PopulationGroup.values)


def practice_day(now: datetime | None = None) -> date:
    """Today in the site's time zone (settings.TIME_ZONE, Asia/Shanghai), whatever
    time zone the request has activated."""
    return timezone.localtime(now or timezone.now(), timezone.get_default_timezone()).date()


def check_open(blueprint: Blueprint, mode: str, user: User | None) -> None:
    if not blueprint_open_to(blueprint=blueprint, mode=mode, user=user):
        raise PermissionDenied(_("This quiz is not open to you."))


def practice_blueprint_create(
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


# --- Timed challenge ------------------------------------------------------------------------


# --- Themed practice ------------------------------------------------------------------------


DAILY_QUESTIONS = 5


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
    return practice_blueprint_create(
        bank=bank,
        name=name,
        actor=actor,
        cells=cells,
        mode=Blueprint.Mode.DAILY,
        audience=audience,
        exposure_cap=exposure_cap,
    )


CHALLENGE_SECONDS = 100


# Question types a challenge gives: marked right or wrong at once.
CHALLENGE_TYPES = ADAPTIVE_TYPES


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
    return practice_blueprint_create(
        bank=bank,
        name=name,
        actor=actor,
        cells=challenge_cells(),
        mode=Blueprint.Mode.CHALLENGE,
        audience=audience,
        time_limit=time_limit,
    )
