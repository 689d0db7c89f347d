"""The directory pages (organizers only): thin adapters over services and selectors.

An import takes two requests, as the question import does: POST with a file checks it
and shows what would change (nothing written); the bytes wait in the cache for
IMPORT_TTL seconds under a random token keyed to the user, with their SHA-256;
"Confirm" names both and imports the staged bytes, checked again against the
directory as it is then. A token is good once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import organizer_required
from accounts.models import School, Unit

from . import files, selectors, services, writing
from .forms import (
    DirectoryFilterForm,
    ImportForm,
    PlaceForm,
    SchoolForm,
    SchoolMergeForm,
    UnitForm,
    UnitMergeForm,
)

PAGE_SIZE = 50
IMPORT_TTL = 30 * 60
PREVIEW_ROWS = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _filtered(request, search):
    form = DirectoryFilterForm(request.GET or None)
    query, region = "", None
    if form.is_valid():
        query, region = form.cleaned_data["q"].strip(), form.cleaned_data["region"]
    page = Paginator(search(query=query, region=region), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    return form, page, params.urlencode()


@organizer_required
@require_GET
def schools(request):
    form, page, params = _filtered(request, selectors.schools_search)
    return render(
        request,
        "accounts/directory.html",
        {
            "form": form,
            "page": page,
            "params": params,
            "pending": selectors.pending_count(),
            "changes": selectors.recent_changes(),
        },
    )


@organizer_required
@require_GET
def units(request):
    form, page, params = _filtered(request, selectors.units_search)
    return render(
        request, "accounts/directory_units.html", {"form": form, "page": page, "params": params}
    )


# --- Edit and merge ------------------------------------------------------------------------


def _school_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        name: data[name] for name in ("code", "name", "district", "region", "stages", "enrolment")
    }


@organizer_required
@require_http_methods(["GET", "POST"])
def school_edit(request, school_id=None):
    school = None
    if school_id is not None:
        school = get_object_or_404(
            School.objects.select_related("district", "region"), pk=school_id
        )
    form = SchoolForm(request.POST or None, school=school)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.school_save(
                school=school, actor=request.user, **_school_values(form.cleaned_data)
            )
        except IntegrityError:  # another organizer took the name or code meanwhile
            form.add_error(None, _("Another school took this name or code meanwhile."))
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("directory:schools")
    return render(
        request,
        "accounts/directory_school.html",
        {"form": form, "school": school},
        status=400 if form.errors else 200,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def unit_edit(request, unit_id=None):
    unit = get_object_or_404(Unit.objects.select_related("region"), pk=unit_id) if unit_id else None
    form = UnitForm(request.POST or None, unit=unit)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.unit_save(unit=unit, actor=request.user, **form.cleaned_data)
        except IntegrityError:  # another organizer took the name meanwhile
            form.add_error(None, _("Another unit took this name meanwhile."))
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("directory:units")
    return render(
        request,
        "accounts/directory_unit.html",
        {"form": form, "unit": unit},
        status=400 if form.errors else 200,
    )


def _merge_page(request, *, source, form, kind, merge, back):
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["target"]
        try:
            moved = merge(source=source, target=target, actor=request.user)
        except services.DirectoryError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("“%(source)s” is merged into “%(target)s”: %(count)s records moved.")
                % {"source": source.name, "target": target.name, "count": sum(moved.values())},
            )
            return redirect(back)
    return render(
        request,
        "accounts/directory_merge.html",
        {"form": form, "source": source, "kind": kind, "back": reverse(back)},
        status=400 if form.errors else 200,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def school_merge(request, school_id):
    source = get_object_or_404(School.objects.select_related("district", "region"), pk=school_id)
    form = SchoolMergeForm(request.POST or None, source=source)
    return _merge_page(
        request,
        source=source,
        form=form,
        kind=files.SCHOOLS,
        merge=services.school_merge,
        back="directory:schools",
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def unit_merge(request, unit_id):
    source = get_object_or_404(Unit.objects.select_related("region"), pk=unit_id)
    form = UnitMergeForm(request.POST or None, source=source)
    return _merge_page(
        request,
        source=source,
        form=form,
        kind=files.UNITS,
        merge=services.unit_merge,
        back="directory:units",
    )


# --- Students whose school was not listed --------------------------------------------------


@organizer_required
@require_http_methods(["GET", "POST"])
def pending(request):
    form = PlaceForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            school = data["school"]
            if data["create"]:
                existing = School.objects.filter(
                    region__district=data["district"], name=data["name"]
                ).first()
                school = existing or services.school_save(
                    school=None,
                    actor=request.user,
                    code=None,
                    name=data["name"],
                    district=data["district"],
                    region=data["district"].region,
                    stages=data["stages"],
                    enrolment=None,
                )
            placed = services.pending_place(
                district=data["district"], name=data["name"], school=school, actor=request.user
            )
            messages.success(
                request,
                ngettext(
                    "%(count)s student placed in “%(school)s”.",
                    "%(count)s students placed in “%(school)s”.",
                    placed,
                )
                % {"count": placed, "school": school.name},
            )
            return redirect("directory:pending")
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return render(
        request,
        "accounts/directory_pending.html",
        {
            "pending": selectors.pending_schools(),
            "stages": School.Stage.choices,
            "schools": School.objects.select_related("region").order_by(
                "region__sort_order", "name"
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Import --------------------------------------------------------------------------------


def _staging_key(user_id: int, token: str) -> str:
    return f"accounts:directory-import:{user_id}:{token}"


def _stage(*, user, data: bytes, filename: str, kind: str) -> dict[str, str]:
    token = secrets.token_urlsafe(24)
    latest = _staging_key(user.pk, "latest")
    previous = cache.get(latest)
    if previous:
        cache.delete(_staging_key(user.pk, previous))
    cache.set(
        _staging_key(user.pk, token),
        {"data": data, "filename": filename, "kind": kind},
        IMPORT_TTL,
    )
    cache.set(latest, token, IMPORT_TTL)
    return {"token": token, "sha256": hashlib.sha256(data).hexdigest()}


def _unstage(*, user, token: str, digest: str) -> dict[str, Any] | None:
    if not (_TOKEN.fullmatch(token) and _SHA256.fullmatch(digest)):
        return None
    key = _staging_key(user.pk, token)
    staged = cache.get(key)
    if not isinstance(staged, dict):
        return None
    if not hmac.compare_digest(hashlib.sha256(staged["data"]).hexdigest(), digest):
        return None
    if not cache.delete(key):
        return None
    return staged


def _import_page(request, form, plan=None, staged=None, status=200):
    context: dict[str, Any] = {
        "form": form,
        "staged": staged,
        "ttl_minutes": IMPORT_TTL // 60,
    }
    if plan is not None:
        report = plan.report
        context.update(
            {
                "plan": plan,
                "errors": [e for e in report.sorted() if e.severity == "error"],
                "warnings": [e for e in report.sorted() if e.severity != "error"],
                "created": plan.count("create"),
                "updated": plan.count("update"),
                "unchanged": plan.count("unchanged"),
                "preview": [r for r in plan.rows if r.action != "unchanged"][:PREVIEW_ROWS],
            }
        )
    return render(request, "accounts/directory_import.html", context, status=status)


@organizer_required
@require_http_methods(["GET", "POST"])
def directory_import(request):
    """GET: the upload form. POST: a check of the file, shown as a preview."""
    if request.method != "POST":
        return _import_page(request, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    kind = form.cleaned_data["kind"]
    filename = Path(form.cleaned_data["file"].name).name
    plan = services.directory_import(
        kind=kind, data=form.file_bytes, filename=filename, actor=request.user, dry_run=True
    )
    staged = None
    if plan.ok and plan.rows:
        staged = _stage(user=request.user, data=form.file_bytes, filename=filename, kind=kind)
    return _import_page(
        request, ImportForm(initial={"kind": kind}), plan, staged, 200 if plan.ok else 400
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def directory_import_confirm(request):
    if request.method != "POST":
        return redirect("directory:import")
    staged = _unstage(
        user=request.user,
        token=request.POST.get("token", ""),
        digest=request.POST.get("sha256", ""),
    )
    if staged is None:
        messages.error(
            request, _("This preview has expired or was already used; upload the file again.")
        )
        return redirect("directory:import")
    plan = services.directory_import(
        kind=staged["kind"],
        data=staged["data"],
        filename=staged["filename"],
        actor=request.user,
    )
    if not plan.ok:
        return _import_page(request, ImportForm(initial={"kind": staged["kind"]}), plan, status=400)
    messages.success(
        request,
        _("Imported: %(created)s added, %(updated)s changed, %(unchanged)s unchanged.")
        % {
            "created": plan.count("create"),
            "updated": plan.count("update"),
            "unchanged": plan.count("unchanged"),
        },
    )
    return redirect("directory:schools" if staged["kind"] == files.SCHOOLS else "directory:units")


# --- Downloads -----------------------------------------------------------------------------


def _download(data: bytes, *, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    return response


def _kind(request) -> str | None:
    kind = request.GET.get("kind", files.SCHOOLS)
    return kind if kind in files.KINDS else None


@organizer_required
@require_GET
def template(request):
    """The blank file: the header row only (?kind=schools|units)."""
    kind = _kind(request)
    if kind is None:
        return HttpResponseBadRequest(_("Unknown kind; use schools or units."))
    return _download(writing.write(kind, []), name=f"{kind}-template.xlsx", content_type=XLSX)


@organizer_required
@require_GET
def export(request):
    """The directory as it is, in the import's columns (?kind=schools|units)."""
    kind = _kind(request)
    if kind is None:
        return HttpResponseBadRequest(_("Unknown kind; use schools or units."))
    if kind == files.SCHOOLS:
        rows = [
            writing.school_cells(s)
            for s in School.objects.select_related("district", "region").prefetch_related("stages")
        ]
    else:
        rows = [writing.unit_cells(u) for u in Unit.objects.select_related("region")]
    return _download(writing.write(kind, rows), name=f"{kind}.xlsx", content_type=XLSX)


@organizer_required
@require_GET
def sample(request):
    """A sample school file to try the import: the demo's fictional directory."""
    from accounts.demo_directory import directory_rows

    return _download(
        writing.write(files.SCHOOLS, directory_rows(), fmt="csv"),
        name="schools-sample.csv",
        content_type="text/csv; charset=utf-8",
    )
