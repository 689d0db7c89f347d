"""Blueprints: validating their cells, making one, opening it to players, and
which blueprints of a practice mode a player (or a guest) may start. The drawing
rules are quizzes.papers.blueprint's (pure); the organizer pages' services for
every mode are in quizzes.papers.authoring.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.models import (
    Bank,
    Blueprint,
    Difficulty,
    Dimension,
    QuestionType,
    Topic,
)
from quizzes.papers import blueprint as engine

ALLOWED_VALUES = {
    "type": set(QuestionType.values),
    "dimension": set(Dimension.values),
    "topic": set(Topic.values),
    "difficulty": set(Difficulty.values),
}


def blueprint_cells(blueprint: Blueprint) -> list[engine.Cell]:
    """The blueprint's cells, validated; BlueprintError (translated) if malformed."""
    try:
        cells = engine.parse_cells(blueprint.cells)
    except engine.BlueprintError as error:
        raise error.translated(_) from None
    for index, cell in enumerate(cells):
        for name, values in cell.filters:
            unknown = values - ALLOWED_VALUES[name]
            if unknown:
                raise engine.BlueprintError(
                    engine.UNKNOWN_VALUE,
                    [index],
                    gettext=_,
                    cell=index + 1,
                    field=name,
                    value=", ".join(sorted(unknown)),
                )
    return cells


def can_draw_from(bank: Bank, user: User) -> bool:
    return (
        user.is_superuser
        or bank.owners.filter(pk=user.pk).exists()
        or bank.shared_with.filter(pk=user.pk).exists()
    )


@transaction.atomic
def blueprint_create(
    *,
    bank: Bank,
    name: str,
    cells: list[dict[str, Any]],
    actor: User,
    exposure_cap: float = 1.0,
    shuffle_questions: bool = True,
    seconds_per_question: int | None = None,
) -> Blueprint:
    """A blueprint for a bank. Its owners and the organizers it is shared with make them."""
    if not can_draw_from(bank, actor):
        raise PermissionDenied(_("Only the bank's owners and those it is shared with draw papers."))
    if not 0 < exposure_cap <= 1:
        raise ValidationError(
            {"exposure_cap": [_("The exposure cap must be above 0 and at most 1.")]}
        )
    blueprint = Blueprint(
        bank=bank,
        name=name,
        cells=cells,
        exposure_cap=exposure_cap,
        shuffle_questions=shuffle_questions,
        seconds_per_question=seconds_per_question,
        created_by=actor,
    )
    blueprint_cells(blueprint)  # raises BlueprintError if malformed
    blueprint.save()
    return blueprint


def blueprint_open_to_players(*, blueprint: Blueprint, actor: User, is_open: bool) -> Blueprint:
    """Open a blueprint to players for self-started practice papers, or close it.
    Those who may draw from its bank decide. Idempotent."""
    if not can_draw_from(blueprint.bank, actor):
        raise PermissionDenied(_("Only the bank's owners and those it is shared with draw papers."))
    Blueprint.objects.filter(pk=blueprint.pk).update(open_to_players=is_open)
    blueprint.open_to_players = is_open
    return blueprint


def audience_of(user: User | None) -> str:
    """The player's population group; "" for a guest (user None)."""
    profile = getattr(user, "profile", None)
    return getattr(profile, "population_group", "") or ""


def practice_blueprints(*, mode: str, user: User | None) -> QuerySet[Blueprint]:
    """Blueprints of a practice mode open to this player: the general ones and those
    for the player's population group (a guest, user None: the general ones)."""
    return Blueprint.objects.filter(
        Q(audience="") | Q(audience=audience_of(user)), mode=mode, open_to_players=True
    ).order_by("name", "id")


def blueprint_open_to(*, blueprint: Blueprint, mode: str, user: User | None) -> bool:
    """Whether a player (a guest: None) may start a paper of this mode from it."""
    return (
        blueprint.mode == mode
        and blueprint.open_to_players
        and blueprint.audience in ("", audience_of(user))
    )
