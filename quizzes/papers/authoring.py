"""Organizer writes on paper blueprints, per mode, and the dry-run draw check.

Creation goes through each mode's own service (quizzes.papers.blueprints,
quizzes.play.practice, quizzes.play.adaptive); this module adds what they do not take
(audience of a fixed paper, open to players, question order, seconds per question) in
the same transaction, the edit service, and `blueprint_draw_check`, which tells whether the
bank can draw a blueprint now without drawing (nothing is written).

Edits of a blueprint that already has papers: its cells (composition, counts and
points) are locked, since each drawn item records the cell it fills and its points,
and the results of those papers are read against them. Everything else (name,
audience, open to players, exposure cap, question order, timing, the adaptive
stopping rule) may change: it only governs the papers drawn from then on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Profile, User
from quizzes.models import (
    Bank,
    Blueprint,
    ItemExposure,
    Paper,
    QuestionVersion,
    Topic,
    VersionStatus,
)
from quizzes.papers import blueprint as engine
from quizzes.papers.blueprints import blueprint_cells, blueprint_create
from quizzes.play.adaptive import ADAPTIVE_TYPES, adaptive_blueprint_create
from quizzes.play.practice import (
    challenge_blueprint_create,
    challenge_cells,
    daily_blueprint_create,
    daily_cells_check,
)

AUDIENCES = set(Profile.PopulationGroup.values)
Mode = Blueprint.Mode


def _check_actor(bank: Bank, actor: User) -> None:
    """Blueprints are the bank owners' (as its questions are): the pages' rule, here."""
    if not (actor.is_superuser or bank.owners.filter(pk=actor.pk).exists()):
        raise PermissionDenied(_("Only the bank's owners change its blueprints."))


def _check_name(bank: Bank, name: str, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the blueprint a name.")]})
    taken = Blueprint.objects.filter(bank=bank, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationError({"name": [_("This bank already has a blueprint with this name.")]})
    return name


def _check_audience(audience: str) -> str:
    if audience and audience not in AUDIENCES:
        raise ValidationError({"audience": [_("Choose a population group or none.")]})
    return audience


def themed_name(topic: str) -> str:
    """The name theme_blueprint_get looks a topic's themed blueprint up by."""
    if topic not in Topic.values:
        raise ValidationError(_("There is no such theme."))
    with translation.override(settings.LANGUAGE_CODE):
        return f"{Topic(topic).label} · {_('Themed practice')}"


def cells_differ(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    """Whether two cell lists make different papers (order of values within a filter
    and an omitted points=1 do not matter)."""
    if old == new:
        return False
    try:
        return engine.parse_cells(old) != engine.parse_cells(new)
    except engine.BlueprintError:
        return True


def blueprint_has_papers(blueprint: Blueprint) -> bool:
    return blueprint.draw_count > 0 or Paper.objects.filter(blueprint=blueprint).exists()


def _mode_create(
    mode: str,
    *,
    bank: Bank,
    name: str,
    actor: User,
    cells: list[dict[str, Any]],
    audience: str,
    exposure_cap: float,
    shuffle_questions: bool,
    seconds_per_question: int | None,
    time_limit: int,
    shares: dict[str, int] | None,
    min_items: int,
    max_items: int,
    se_target: float,
) -> Blueprint:
    """A new blueprint of `mode`, made by that mode's own service."""
    if mode == Mode.FIXED:
        blueprint = blueprint_create(
            bank=bank,
            name=name,
            cells=cells,
            actor=actor,
            exposure_cap=exposure_cap,
            shuffle_questions=shuffle_questions,
            seconds_per_question=seconds_per_question,
        )
        Blueprint.objects.filter(pk=blueprint.pk).update(audience=audience)
    elif mode == Mode.DAILY:
        blueprint = daily_blueprint_create(
            bank=bank,
            name=name,
            actor=actor,
            cells=cells,
            audience=audience,
            exposure_cap=exposure_cap,
        )
    elif mode == Mode.CHALLENGE:
        blueprint = challenge_blueprint_create(
            bank=bank, name=name, actor=actor, time_limit=time_limit, audience=audience
        )
    elif mode == Mode.ADAPTIVE:
        blueprint = adaptive_blueprint_create(
            bank=bank,
            name=name,
            actor=actor,
            shares=shares,
            min_items=min_items,
            max_items=max_items,
            se_target=se_target,
            exposure_cap=exposure_cap,
        )
        Blueprint.objects.filter(pk=blueprint.pk).update(audience=audience)
    elif mode == Mode.THEMED:
        blueprint = blueprint_create(
            bank=bank, name=name, cells=cells, actor=actor, exposure_cap=exposure_cap
        )
        Blueprint.objects.filter(pk=blueprint.pk).update(mode=Mode.THEMED)
    else:
        raise ValidationError(_("Choose a kind of blueprint."))
    return blueprint


@transaction.atomic
def blueprint_add(
    *,
    bank: Bank,
    actor: User,
    mode: str,
    name: str = "",
    cells: list[dict[str, Any]] | None = None,
    audience: str = "",
    open_to_players: bool = False,
    exposure_cap: float = 1.0,
    shuffle_questions: bool = True,
    seconds_per_question: int | None = None,
    time_limit: int = 100,
    shares: dict[str, int] | None = None,
    min_items: int = 15,
    max_items: int = 30,
    se_target: float = 0.30,
) -> Blueprint:
    """A blueprint of any mode, made by that mode's service. A themed blueprint is
    named after its topic (the name themed practice finds it by); its cells must be
    one cell of that topic. Raises ValidationError, PermissionDenied or
    BlueprintError; nothing is written then."""
    _check_actor(bank, actor)
    audience = _check_audience(audience)
    if mode == Mode.THEMED:
        cells = list(cells or [])
        topic = cells[0].get("topic") if len(cells) == 1 else None
        if not isinstance(topic, str):
            raise ValidationError(_("A themed blueprint has one cell, of one topic."))
        name = themed_name(topic)
    name = _check_name(bank, name)
    try:
        with transaction.atomic():
            blueprint = _mode_create(
                mode,
                bank=bank,
                name=name,
                actor=actor,
                cells=cells or [],
                audience=audience,
                exposure_cap=exposure_cap,
                shuffle_questions=shuffle_questions,
                seconds_per_question=seconds_per_question,
                time_limit=time_limit,
                shares=shares,
                min_items=min_items,
                max_items=max_items,
                se_target=se_target,
            )
    except IntegrityError:  # the same name saved at the same moment
        raise ValidationError(
            {"name": [_("This bank already has a blueprint with this name.")]}
        ) from None
    if mode != Mode.THEMED:  # themed ones never open their bank (quizzes.play.themes)
        Blueprint.objects.filter(pk=blueprint.pk).update(open_to_players=open_to_players)
    blueprint.refresh_from_db()
    return blueprint


def _check_new_cells(blueprint: Blueprint, cells: list[dict[str, Any]]) -> None:
    """New cells for a blueprint: ValidationError (or BlueprintError) if they may not
    replace its cells."""
    mode = blueprint.mode
    if mode == Mode.CHALLENGE:
        raise ValidationError(_("A challenge's questions cannot be chosen by cells."))
    if blueprint_has_papers(blueprint):
        raise ValidationError(
            _(
                "Papers have already been drawn from this blueprint: its cells "
                "(questions, counts and points) can no longer change. Make a new "
                "blueprint instead."
            )
        )
    if mode == Mode.DAILY:
        daily_cells_check(cells)
    if mode == Mode.THEMED and (
        len(cells) != 1 or cells[0].get("topic") != _themed_topic(blueprint)
    ):
        raise ValidationError(_("A themed blueprint has one cell, of one topic."))
    blueprint_cells(Blueprint(bank=blueprint.bank, cells=cells))  # BlueprintError


def _adaptive_changes(
    blueprint: Blueprint, min_items: int | None, max_items: int | None, se_target: float | None
) -> dict[str, Any]:
    """An adaptive blueprint's checked changes: its fewest and most items, its target."""
    low = blueprint.min_items if min_items is None else min_items
    high = blueprint.max_items if max_items is None else max_items
    if not 1 <= low <= high <= 100:
        raise ValidationError(_("Give the fewest and most items, from 1 to 100."))
    changes: dict[str, Any] = {"min_items": low, "max_items": high}
    if se_target is not None:
        if not 0.05 <= se_target <= 1:
            raise ValidationError(_("The target standard error must be from 0.05 to 1."))
        changes["se_target"] = se_target
    return changes


@transaction.atomic
def blueprint_update(
    *,
    blueprint: Blueprint,
    actor: User,
    name: str | None = None,
    cells: list[dict[str, Any]] | None = None,
    audience: str | None = None,
    open_to_players: bool | None = None,
    exposure_cap: float | None = None,
    shuffle_questions: bool | None = None,
    seconds_per_question: int | None = None,
    time_limit: int | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    se_target: float | None = None,
) -> Blueprint:
    """Change a blueprint; None leaves a field as it is (seconds_per_question: pass 0
    to clear it). The mode never changes. Cells cannot change once papers have been
    drawn from the blueprint (ValidationError), nor may a challenge's. Validated as at
    creation; nothing is written when anything is wrong."""
    _check_actor(blueprint.bank, actor)
    changes: dict[str, Any] = {}
    mode = blueprint.mode
    if name is not None and mode != Mode.THEMED:
        changes["name"] = _check_name(blueprint.bank, name, exclude=blueprint.pk)
    if cells is not None and cells_differ(blueprint.cells, cells):
        _check_new_cells(blueprint, cells)
        changes["cells"] = cells
    if audience is not None and mode != Mode.THEMED:
        changes["audience"] = _check_audience(audience)
    if open_to_players is not None and mode != Mode.THEMED:
        changes["open_to_players"] = bool(open_to_players)
    if exposure_cap is not None:
        if not 0 < exposure_cap <= 1:
            raise ValidationError(
                {"exposure_cap": [_("The exposure cap must be above 0 and at most 1.")]}
            )
        changes["exposure_cap"] = exposure_cap
    if shuffle_questions is not None:
        changes["shuffle_questions"] = bool(shuffle_questions)
    if seconds_per_question is not None:
        if seconds_per_question < 0:
            raise ValidationError(
                {"seconds_per_question": [_("Give a whole number of seconds, or leave it empty.")]}
            )
        changes["seconds_per_question"] = seconds_per_question or None
    if time_limit is not None and mode == Mode.CHALLENGE:
        if not 10 <= time_limit <= 3600:
            raise ValidationError({"time_limit": [_("Give a time limit from 10 to 3600 seconds.")]})
        changes["time_limit"] = time_limit
    if mode == Mode.ADAPTIVE:
        changes.update(_adaptive_changes(blueprint, min_items, max_items, se_target))
    if changes:
        try:
            with transaction.atomic():
                Blueprint.objects.filter(pk=blueprint.pk).update(**changes)
        except IntegrityError:
            raise ValidationError(
                {"name": [_("This bank already has a blueprint with this name.")]}
            ) from None
    blueprint.refresh_from_db()
    return blueprint


def blueprint_save(
    *,
    bank: Bank,
    actor: User,
    mode: str,
    blueprint: Blueprint | None,
    values: dict[str, Any],
    cells: list[dict[str, Any]] | None,
    shares: dict[str, int] | None = None,
    check_only: bool = False,
) -> Blueprint | None:
    """What the organizer page's form does: check that the bank can draw the blueprint
    (when it is new, or its cells, exposure cap or shortest length change), then add
    or update it. With `check_only`, only the check (returns None). Raises
    BlueprintError or ValidationError; nothing is written then."""
    if mode == Mode.CHALLENGE:
        cells = challenge_cells()
    changed = (
        blueprint is None
        or cells_differ(blueprint.cells, cells)
        or values.get("exposure_cap", blueprint.exposure_cap) != blueprint.exposure_cap
        or values.get("min_items", blueprint.min_items) != blueprint.min_items
    )
    if check_only or changed:
        blueprint_draw_check(
            bank=bank,
            mode=mode,
            cells=cells,
            exposure_cap=values.get("exposure_cap", 1.0),
            blueprint=blueprint,
            min_items=values.get("min_items", 1),
        )
    if check_only:
        return None
    if blueprint is None:
        if mode == Mode.ADAPTIVE:
            extra: dict[str, Any] = {"shares": shares}
        else:
            extra = {"cells": cells} if mode != Mode.CHALLENGE else {}
        return blueprint_add(bank=bank, actor=actor, mode=mode, **values, **extra)
    if mode == Mode.FIXED and values.get("seconds_per_question") is None:
        values = {**values, "seconds_per_question": 0}  # cleared
    return blueprint_update(
        blueprint=blueprint,
        actor=actor,
        cells=None if mode == Mode.CHALLENGE else cells,
        **values,
    )


def _themed_topic(blueprint: Blueprint) -> str | None:
    cells = blueprint.cells or []
    return cells[0].get("topic") if len(cells) == 1 and isinstance(cells[0], dict) else None


# --- Dry-run draw check (reads only) -------------------------------------------------------


def blueprint_draw_check(
    *,
    bank: Bank,
    mode: str,
    cells: list[dict[str, Any]],
    exposure_cap: float = 1.0,
    blueprint: Blueprint | None = None,
    min_items: int = 1,
) -> None:
    """Raise BlueprintError (translated, naming the short cells) or ValidationError if
    the bank cannot draw a paper of these cells now: from its published questions, and
    for an existing `blueprint` under its exposure cap at its next draw. An adaptive
    test needs `min_items` published auto-marked questions and one of every dimension
    it has a share for; a challenge, one auto-marked question."""
    published = QuestionVersion.objects.filter(
        question__bank=bank, status=VersionStatus.PUBLISHED
    ).order_by()
    if mode == Mode.ADAPTIVE:
        rows = (
            published.filter(type__in=ADAPTIVE_TYPES)
            .values_list("dimension")
            .annotate(n=Count("id"))
        )
        per_dimension = dict(rows)
        total = sum(per_dimension.values())
        if total < min_items:
            raise ValidationError(
                _(
                    "The test gives at least %(needed)s questions but the bank has only "
                    "%(available)s published single, multiple choice and true or false questions."
                )
                % {"needed": min_items, "available": total}
            )
        for index, cell in enumerate(cells):
            if cell.get("count") and not per_dimension.get(cell.get("dimension")):
                raise engine.BlueprintError(
                    _(
                        "Blueprint cell %(cell)s needs %(needed)s questions but only "
                        "%(available)s in the bank match it."
                    ),
                    [index],
                    cell=index + 1,
                    needed=1,
                    available=0,
                )
        return
    parsed = blueprint_cells(Blueprint(bank=bank, cells=cells))
    counts: dict[tuple[str, ...], list[int]] = {}
    for row in published.values_list(*engine.ATTRIBUTES).annotate(n=Count("id")):
        counts[tuple(row[:4])] = [row[4], row[4]]
    if blueprint is not None and blueprint.pk and blueprint.draw_count:
        quota = engine.exposure_quota(exposure_cap, blueprint.draw_count + 1)
        over = ItemExposure.objects.filter(blueprint=blueprint, count__gte=quota).values(
            "question_id"
        )
        for row in published.filter(question_id__in=over).values_list(*engine.ATTRIBUTES):
            if tuple(row) in counts:
                counts[tuple(row)][1] -= 1
    supply = {s: (n, free) for s, (n, free) in counts.items()}

    def fetch(signatures: list[tuple[str, ...]]) -> list[dict[str, Any]]:
        # Stand-ins: the plan only needs as many candidates as the counts say.
        return [
            dict(zip(("id", *engine.ATTRIBUTES), ((s, i), *s), strict=True))
            for s in signatures
            for i in range(supply[s][1])
        ]

    try:
        engine.draw_from_counts(
            supply, parsed, seed=0, fetch=fetch, shuffle_questions=False, options=lambda ids: {}
        )
    except engine.BlueprintError as error:
        raise error.translated(_) from None
