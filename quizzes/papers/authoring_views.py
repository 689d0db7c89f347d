"""Organizer pages for a bank's paper blueprints: list, new (one form per mode), edit.

Thin adapters: the forms parse the input, quizzes.papers.authoring validates and
writes. Before saving a new composition the page checks that the bank can draw it
now (blueprint_draw_check); the "Check" button runs that check alone.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.decorators import staff_required
from quizzes.bank.views import bank_for_request
from quizzes.models import Blueprint
from quizzes.papers import authoring as services
from quizzes.papers.blueprint import BlueprintError
from quizzes.papers.forms import BlueprintForm, cell_formset

Mode = Blueprint.Mode


def _editable_bank(request, bank_id):
    """The bank, for those who may edit its questions (its owners); 404 for those
    without access to it, 403 for its reviewers and those it is shared with."""
    bank, role = bank_for_request(request, bank_id)
    if role != "owner":
        raise PermissionDenied
    return bank


def _items(blueprint: Blueprint) -> str:
    if blueprint.mode == Mode.ADAPTIVE:
        return f"{blueprint.min_items}–{blueprint.max_items}"
    if blueprint.mode == Mode.CHALLENGE:
        return "—"
    return str(sum(c.get("count", 0) for c in blueprint.cells if isinstance(c, dict)))


@staff_required
def blueprint_list(request, bank_id):
    bank = _editable_bank(request, bank_id)
    blueprints = list(Blueprint.objects.filter(bank=bank).order_by("mode", "name"))
    for blueprint in blueprints:
        blueprint.items = _items(blueprint)
    return render(
        request,
        "quizzes/blueprint_list.html",
        {"bank": bank, "blueprints": blueprints, "modes": Mode.choices},
    )


@staff_required
def blueprint_create(request, bank_id):
    bank = _editable_bank(request, bank_id)
    mode = request.GET.get("mode", "")
    if mode not in Mode.values:
        return render(
            request, "quizzes/blueprint_modes.html", {"bank": bank, "modes": Mode.choices}
        )
    return _blueprint_page(request, bank, mode, None)


@staff_required
def blueprint_edit(request, bank_id, blueprint_id):
    bank = _editable_bank(request, bank_id)
    blueprint = get_object_or_404(Blueprint, pk=blueprint_id, bank=bank)
    return _blueprint_page(request, bank, blueprint.mode, blueprint)


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _blueprint_page(request, bank, mode: str, blueprint: Blueprint | None):
    data = request.POST if request.method == "POST" else None
    form = BlueprintForm(data, mode=mode, blueprint=blueprint)
    cells_form = cell_formset(data, mode=mode, blueprint=blueprint)
    locked = blueprint is not None and services.blueprint_has_papers(blueprint)
    checked = False
    if data is not None and form.is_valid() and (cells_form is None or cells_form.is_valid()):
        try:
            saved = services.blueprint_save(
                bank=bank,
                actor=request.user,
                mode=mode,
                blueprint=blueprint,
                values=form.values(),
                cells=cells_form.cells if cells_form is not None else form.cells(),
                shares=form.shares() if mode == Mode.ADAPTIVE else None,
                check_only="check" in data,
            )
        except BlueprintError as error:
            form.add_error(None, str(error))
            if cells_form is not None:
                cells_form.add_cell_errors(error.cells, str(error))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if saved is None:
                checked = True
            else:
                messages.success(request, _("Blueprint saved."))
                return redirect("quizzes:blueprints", bank.pk)
    return render(
        request,
        "quizzes/blueprint_form.html",
        {
            "bank": bank,
            "blueprint": blueprint,
            "mode": mode,
            "mode_label": Mode(mode).label,
            "form": form,
            "cells_form": cells_form,
            "locked": locked,
            "checked": checked,
        },
    )
