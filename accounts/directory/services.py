"""Every write to the directory (docs/architecture.md: services). Each is one
transaction and leaves a DirectoryChange row (who, what, ids and counts) and a log
line; none holds personal data."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from accounts.models import (
    DirectoryChange,
    District,
    Profile,
    Region,
    School,
    SchoolStage,
    Unit,
    User,
)
from spreadsheets import gettext_lazy

from . import files

logger = logging.getLogger("accounts.directory")
_BATCH = 500  # rows a bulk INSERT carries (SQLite's variable limit, with room)


class DirectoryError(Exception):
    """A change the directory refuses; the message says why, for the page."""


def _audit(*, actor: User | None, action: str, **summary: Any) -> None:
    DirectoryChange.objects.create(actor=actor, action=action, summary=summary)
    logger.info("directory %s by user %s: %s", action, getattr(actor, "pk", None), summary)


def _set_stages(school: School, stages: list[str]) -> None:
    school.stages.exclude(stage__in=stages).delete()
    SchoolStage.objects.bulk_create(
        [SchoolStage(school=school, stage=stage) for stage in stages], ignore_conflicts=True
    )


# --- Import --------------------------------------------------------------------------------


def directory_import(
    *, kind: str, data: bytes, filename: str, actor: User | None, dry_run: bool = False
) -> files.Plan:
    """Import a school or unit file: every row or none.

    The file is checked against the directory as it is now (files.plan); with errors,
    or with `dry_run`, nothing is written. Otherwise one transaction creates and
    updates the rows; if the directory changed under it (a constraint fails), the
    whole import is undone and the report says so."""
    plan = files.plan(kind, data, filename)
    if dry_run or not plan.ok or not plan.rows:
        return plan
    try:
        with transaction.atomic():
            if kind == files.SCHOOLS:
                _write_schools(plan.rows)
            else:
                for row in plan.rows:
                    if row.action != "unchanged":
                        _write_unit(row)
            _audit(
                actor=actor,
                action=DirectoryChange.Action.IMPORT,
                kind=kind,
                file=filename,
                created=plan.count("create"),
                updated=plan.count("update"),
                unchanged=plan.count("unchanged"),
            )
    except IntegrityError:
        plan.report.error(
            gettext_lazy(
                "The directory changed while the file was imported, so nothing was "
                "imported. Check the file again."
            )
        )
    return plan


def _school_fields(school: School, values: dict[str, Any]) -> School:
    school.code = values["code"]
    school.name = values["name"]
    school.district = values["district"]
    school.region = values["region"]
    school.enrolment = values["enrolment"]
    return school


def _write_schools(rows: list[files.PlannedRow]) -> None:
    """Changed schools one by one (a rename may free a name another row takes); new
    ones and their stages in bulk, so that a first import of thousands is quick."""
    for row in rows:
        if row.action == "update":
            _school_fields(row.target, row.values).save()
            _set_stages(row.target, row.values["stages"])
    new = [row for row in rows if row.action == "create"]
    for start in range(0, len(new), _BATCH):
        batch = new[start : start + _BATCH]
        created = School.objects.bulk_create(
            [_school_fields(School(), row.values) for row in batch]
        )
        SchoolStage.objects.bulk_create(
            [
                SchoolStage(school=school, stage=stage)
                for school, row in zip(created, batch, strict=True)
                for stage in row.values["stages"]
            ]
        )


def _write_unit(row: files.PlannedRow) -> None:
    values = row.values
    unit = row.target or Unit(name=values["name"], region=values["region"])
    unit.kind = values["kind"]
    unit.save()


# --- Edit ----------------------------------------------------------------------------------


@transaction.atomic
def school_save(
    *,
    school: School | None,
    actor: User | None,
    code: str | None,
    name: str,
    district: District,
    region: Region,
    stages: list[str],
    enrolment: int | None,
) -> School:
    """Create a school (`school` None) or change one; the form has checked the values,
    the database's constraints check them again."""
    school = school or School()
    created = school.pk is None
    school.code = code or None
    school.name = name
    school.district = district
    school.region = region
    school.enrolment = enrolment
    school.save()
    _set_stages(school, stages)
    _audit(
        actor=actor,
        action=DirectoryChange.Action.EDIT,
        kind=files.SCHOOLS,
        school=school.pk,
        created=created,
    )
    return school


@transaction.atomic
def unit_save(
    *, unit: Unit | None, actor: User | None, name: str, kind: str, region: Region
) -> Unit:
    unit = unit or Unit()
    created = unit.pk is None
    unit.name, unit.kind, unit.region = name, kind, region
    unit.save()
    _audit(
        actor=actor,
        action=DirectoryChange.Action.EDIT,
        kind=files.UNITS,
        unit=unit.pk,
        created=created,
    )
    return unit


# --- Merge ---------------------------------------------------------------------------------


def _references(model: type[Model]):
    """Every foreign key (and one-to-one) of any model that points at `model`, found
    from the model registry, so that a model added later is moved too."""
    for relation in model._meta.get_fields(include_hidden=True):
        if (
            relation.auto_created
            and not relation.concrete
            and (relation.one_to_many or relation.one_to_one)
        ):
            yield relation.related_model, relation.field.name


def _move_references(
    model: type[Model], source: Model, target: Model, *, skip=()
) -> dict[str, int]:
    moved: dict[str, int] = {}
    for related, name in _references(model):
        if related in skip:
            continue
        count = related._base_manager.filter(**{name: source}).update(**{name: target})
        if count:
            moved[related._meta.label] = count
    return moved


def _merge(
    model: type[Model],
    source: Model,
    target: Model,
    *,
    actor: User | None,
    kind: str,
    refusals: tuple[str, str, str],
    skip=(),
    absorb=None,
) -> dict[str, int]:
    """Merge `source` into `target`: every row that names `source` moves to `target`,
    then `source` is deleted and `absorb(target)` (when given, built from the source
    before it goes) completes the target. One transaction with both rows locked: all
    of it or, when a move breaks a constraint, none. `refusals`: the messages for a
    merge into itself, a row gone meanwhile, and a constraint broken."""
    into_itself, gone, broken = refusals
    if source.pk == target.pk:
        raise DirectoryError(into_itself)
    try:
        with transaction.atomic():
            locked = {
                row.pk: row
                for row in model.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
            }
            if len(locked) != 2:
                raise DirectoryError(gone)
            source, target = locked[source.pk], locked[target.pk]
            moved = _move_references(model, source, target, skip=skip)
            finish = absorb(source) if absorb else None
            source_id, source_name = source.pk, source.name
            source.delete()
            if finish:
                finish(target)
            _audit(
                actor=actor,
                action=DirectoryChange.Action.MERGE,
                kind=kind,
                source=source_id,
                source_name=source_name,
                target=target.pk,
                moved=moved,
            )
    except (IntegrityError, ProtectedError, RestrictedError) as exc:
        raise DirectoryError(broken) from exc
    return moved


def _school_absorb(source: School):
    """What a school kept gains from the one merged into it: its stages, and its code
    and enrolment where it has none (set once the source, whose code is unique, is
    gone)."""
    stages, code, enrolment = source.stage_values, source.code, source.enrolment

    def finish(target: School) -> None:
        _set_stages(target, sorted({*target.stage_values, *stages}))
        if target.code is None and code:
            target.code = code
        if target.enrolment is None:
            target.enrolment = enrolment
        target.save()

    return finish


def school_merge(*, source: School, target: School, actor: User | None) -> dict[str, int]:
    """Merge `source` into `target`: every profile, team, roster entry, player (and
    anything else that names a school) moves to `target`, which also gains the
    source's stages, and its code and enrolment where it has none; then `source` is
    deleted. One transaction: all of it or, when a move breaks a constraint, none."""
    return _merge(
        School,
        source,
        target,
        actor=actor,
        kind=files.SCHOOLS,
        skip=(SchoolStage,),
        absorb=_school_absorb,
        refusals=(
            _("A school cannot be merged into itself."),
            _("One of the two schools is no longer there."),
            _(
                "The two schools cannot be merged: something that names both would then be "
                "there twice (such as one player in one round). Nothing was changed."
            ),
        ),
    )


def unit_merge(*, source: Unit, target: Unit, actor: User | None) -> dict[str, int]:
    """Merge `source` into `target` as school_merge does for schools."""
    return _merge(
        Unit,
        source,
        target,
        actor=actor,
        kind=files.UNITS,
        refusals=(
            _("A unit cannot be merged into itself."),
            _("One of the two units is no longer there."),
            _(
                "The two units cannot be merged: something that names both would then be "
                "there twice. Nothing was changed."
            ),
        ),
    )


# --- Students whose school was not listed --------------------------------------------------


@transaction.atomic
def pending_place(*, district: District, name: str, school: School, actor: User | None) -> int:
    """Put every student waiting with this typed school name and district into
    `school`; their region becomes the school's. Returns how many were placed."""
    placed = Profile.objects.filter(
        school__isnull=True, district=district, pending_school_name=name
    ).update(school=school, district=school.district, region=school.region, pending_school_name="")
    if placed:
        _audit(
            actor=actor,
            action=DirectoryChange.Action.PLACE,
            school=school.pk,
            district=district.pk,
            students=placed,
        )
    return placed
