"""Organizer pages to import and export question files: thin adapters over quizzes.bank.io.

Import takes two requests. POST with a file runs a dry run and shows the preview; the
file's bytes stay on the server, in the cache for IMPORT_TTL seconds under a random
token keyed to the user and the bank, with their SHA-256. "Confirm" names the token and
the hash, and re-runs the real import on the staged bytes (the importer refuses the
whole file if anything is wrong by then). The client never resends the file, and a
token is good once, for the user and the bank that made it.

A file larger than SPREADSHEET_MAX_UPLOAD_BYTES is refused before it is read (the same
limit as the command line's; spreadsheets.limits holds the others). The form also
offers a dimension, topic and difficulty for questions a file leaves without them (a
Moodle XML or GIFT file without SciArena's tags); they are staged with the file.

Export and the blank template are downloads. Only the bank's owners import; only those
who see its keys (owners and reviewers) export, since a file carries every key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from accounts.decorators import staff_required
from quizzes.bank import selectors
from quizzes.bank.forms import key_as_text
from quizzes.bank.io import (
    FORMATS,
    ImportResult,
    detect_format,
    export_bank,
    import_questions,
    template_xlsx,
)
from quizzes.bank.io.exporter import CONTENT_TYPES, EXTENSIONS
from quizzes.bank.views import bank_for_request
from quizzes.models import Bank, Difficulty, Dimension, QuestionType, Topic
from spreadsheets import Limits, megabytes, read_upload, too_large_message
from spreadsheets.report import LINE, ROW

DEFAULT_FIELDS = ("dimension", "topic", "difficulty")
PREVIEW_COUNT = 20  # questions shown in full on the preview
IMPORT_TTL = 30 * 60  # seconds a previewed file waits for its confirmation
ACCEPTED = (".xlsx", ".csv", ".xml", ".gift", ".txt")
FORMAT_NAMES = {"xlsx": "Excel (XLSX)", "csv": "CSV", "moodle": "Moodle XML", "gift": "GIFT"}

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def _blank_first(choices) -> list[tuple[str, Any]]:
    return [("", gettext_lazy("— as in the file —")), *choices]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Question file"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED)}),
    )
    dimension = forms.ChoiceField(
        label=gettext_lazy("Dimension"), choices=_blank_first(Dimension.choices), required=False
    )
    topic = forms.ChoiceField(
        label=gettext_lazy("Topic"), choices=_blank_first(Topic.choices), required=False
    )
    difficulty = forms.ChoiceField(
        label=gettext_lazy("Difficulty"), choices=_blank_first(Difficulty.choices), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = Limits.from_settings()
        self.fields["file"].help_text = _(
            "Excel (.xlsx) or CSV in the template's columns, Moodle XML (.xml) or GIFT "
            "(.txt, .gift); at most %(mb)s MB."
        ) % {"mb": megabytes(self.limits.max_upload_bytes)}
        for name in DEFAULT_FIELDS:
            self.fields[name].help_text = _(
                "For questions the file leaves without one, such as a Moodle XML or GIFT "
                "file without SciArena's tags."
            )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if detect_format(upload.name) is None:  # by the extension: one of ACCEPTED
            raise ValidationError(
                _("Unknown file format; use .xlsx, .csv, Moodle XML (.xml) or GIFT (.txt, .gift).")
            )
        too_big = str(too_large_message(self.limits))
        if upload.size > self.limits.max_upload_bytes:
            raise ValidationError(too_big)
        data = read_upload(upload, self.limits)
        if data is None:
            raise ValidationError(too_big)
        self.file_bytes = data
        return upload

    def defaults(self) -> dict[str, str]:
        """The defaults chosen, for import_questions(defaults=…)."""
        return {name: self.cleaned_data[name] for name in DEFAULT_FIELDS if self.cleaned_data[name]}


def _owned_bank(request, bank_id) -> Bank:
    """The bank, for one of its owners; 404 for a stranger, 403 for a reviewer or a
    colleague it is shared with (as on the question editor)."""
    bank, role = bank_for_request(request, bank_id)
    if role != "owner":
        raise PermissionDenied
    return bank


# --- The previewed file, kept on the server until it is confirmed ---------------------


def _staging_key(user_id: int, bank_id: int, token: str) -> str:
    return f"quizzes:import:{user_id}:{bank_id}:{token}"


def _stage(
    *, user, bank: Bank, data: bytes, filename: str, fmt: str, defaults: dict[str, str]
) -> dict[str, str]:
    """Keep the previewed bytes for IMPORT_TTL seconds. One file per user and bank: a
    new preview drops the previous one, so re-uploads do not pile up in the cache."""
    token = secrets.token_urlsafe(24)
    digest = hashlib.sha256(data).hexdigest()
    latest = _staging_key(user.pk, bank.pk, "latest")
    previous = cache.get(latest)
    if previous:
        cache.delete(_staging_key(user.pk, bank.pk, previous))
    cache.set(
        _staging_key(user.pk, bank.pk, token),
        {"data": data, "filename": filename, "format": fmt, "defaults": defaults},
        IMPORT_TTL,
    )
    cache.set(latest, token, IMPORT_TTL)
    return {"token": token, "sha256": digest}


def _unstage(*, user, bank: Bank, token: str, digest: str) -> dict[str, Any] | None:
    """The staged file for this user, bank, token and hash, taken out of the cache so
    that it is imported once; None if it is missing, expired, someone else's or altered."""
    if not (_TOKEN.fullmatch(token) and _SHA256.fullmatch(digest)):
        return None
    key = _staging_key(user.pk, bank.pk, token)
    staged = cache.get(key)
    if not isinstance(staged, dict):
        return None
    # The bytes kept are the bytes previewed: the form's hash was taken from them.
    if not hmac.compare_digest(hashlib.sha256(staged["data"]).hexdigest(), digest):
        return None
    if not cache.delete(key):  # a second click (or request) got there first
        return None
    return staged


# --- Pages ------------------------------------------------------------------------------


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _key_text(data: dict[str, Any]) -> str:
    if "key" not in data or "type" not in data:
        return ""
    try:
        return key_as_text(SimpleNamespace(**{"options": [], **data}))
    except (KeyError, ValueError, IndexError, TypeError):
        return ""


def _preview_context(result: ImportResult) -> dict[str, Any]:
    report = result.report
    errors = [e for e in report.sorted() if e.severity == "error"]
    warnings = [e for e in report.sorted() if e.severity != "error"]
    rows_with_errors = {e.row for e in errors}
    kind = ROW if result.format in ("xlsx", "csv") else LINE
    types = Counter(item.data.get("type") for item in result.items if item.data.get("type"))
    preview = [
        {
            "row": item.row,
            "kind": kind,
            "data": item.data,
            "key_text": _key_text(item.data),
            "type": _label(QuestionType, item.data.get("type")),
            "dimension": _label(Dimension, item.data.get("dimension")),
            "topic": _label(Topic, item.data.get("topic")),
            "difficulty": _label(Difficulty, item.data.get("difficulty")),
            "has_errors": item.row in rows_with_errors,
        }
        for item in result.items[:PREVIEW_COUNT]
    ]
    return {
        "result": result,
        "format_name": FORMAT_NAMES.get(result.format or "", ""),
        "errors": errors,
        "warnings": warnings,
        "by_type": [(_label(QuestionType, t), n) for t, n in sorted(types.items())],
        "preview": preview,
        "not_shown": max(len(result.items) - PREVIEW_COUNT, 0),
    }


def _import_page(request, bank, form, result=None, staged=None, status=200):
    context: dict[str, Any] = {
        "bank": bank,
        "form": form,
        "max_mb": megabytes(Limits.from_settings().max_upload_bytes),
        "ttl_minutes": IMPORT_TTL // 60,
        "staged": staged,
    }
    if result is not None:
        context.update(_preview_context(result))
    return render(request, "quizzes/import.html", context, status=status)


@staff_required
def bank_import(request, bank_id):
    """GET: the upload form. POST: a dry run of the uploaded file, shown as a preview."""
    bank = _owned_bank(request, bank_id)
    if request.method != "POST":
        return _import_page(request, bank, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, bank, form)
    upload = form.cleaned_data["file"]
    filename = Path(upload.name).name
    defaults = form.defaults()
    result = import_questions(
        bank=bank,
        actor=request.user,
        data=form.file_bytes,
        filename=filename,
        dry_run=True,
        defaults=defaults,
    )
    staged = None
    if result.ok:
        staged = _stage(
            user=request.user,
            bank=bank,
            data=form.file_bytes,
            filename=filename,
            fmt=result.format or "",
            defaults=defaults,
        )
    return _import_page(request, bank, ImportForm(initial=defaults), result, staged)


@staff_required
def bank_import_confirm(request, bank_id):
    """Import the previewed file: all of it, or, if anything is wrong now, none of it.
    A GET (the language switch or a reload after a refused confirmation lands here)
    goes back to the upload form and changes nothing."""
    bank = _owned_bank(request, bank_id)
    if request.method != "POST":
        return redirect("quizzes:bank_import", bank.pk)
    staged = _unstage(
        user=request.user,
        bank=bank,
        token=request.POST.get("token", ""),
        digest=request.POST.get("sha256", ""),
    )
    if staged is None:
        messages.error(
            request,
            _("This preview has expired or was already used; upload the file again."),
        )
        return redirect("quizzes:bank_import", bank.pk)
    result = import_questions(
        bank=bank,
        actor=request.user,
        data=staged["data"],
        filename=staged["filename"],
        fmt=staged["format"] or None,
        defaults=staged.get("defaults") or {},
    )
    if not result.ok:  # the bank changed since the preview (e.g. the same uids imported)
        return _import_page(request, bank, ImportForm(), result)
    messages.success(
        request,
        ngettext(
            "%(count)s question imported as a draft.",
            "%(count)s questions imported as drafts.",
            result.created,
        )
        % {"count": result.created},
    )
    return redirect("quizzes:bank", bank.pk)


def _attachment(stem: str, extension: str, fallback: str) -> str:
    """Content-Disposition for a download (Django's header): the real (often Chinese)
    name as RFC 5987 filename*, and before it a plain ASCII filename for old clients."""
    clean = _UNSAFE_IN_FILENAME.sub("_", stem).strip(" ._")[:80] or fallback
    name = f"{clean}{extension}"
    header = content_disposition_header(True, name)
    if name.isascii():
        return header
    plain = content_disposition_header(True, f"{fallback}{extension}")
    return plain + header.removeprefix("attachment")


@staff_required
@require_GET
def bank_export(request, bank_id):
    """?format=xlsx|csv|moodle|gift[&published=1]: the bank as a file, keys included."""
    bank, role = bank_for_request(request, bank_id)
    if not selectors.sees_keys(role):
        raise PermissionDenied
    fmt = request.GET.get("format", "")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(
            _("Unknown export format; use one of: %(formats)s.") % {"formats": ", ".join(FORMATS)},
            content_type="text/plain; charset=utf-8",
        )
    published_only = request.GET.get("published") in ("1", "true", "on", "yes")
    result = export_bank(bank=bank, fmt=fmt, published_only=published_only)
    stem = bank.name + (f"-{_('published')}" if published_only else "")
    response = HttpResponse(result.data, content_type=result.content_type)
    response["Content-Disposition"] = _attachment(stem, EXTENSIONS[fmt], f"bank-{bank.pk}")
    response["Cache-Control"] = "private, no-store"  # the answer keys are in it
    return response


@staff_required
@require_GET
def import_template(request):
    """The blank XLSX template, its header row in Chinese as docs/question-format.md."""
    response = HttpResponse(template_xlsx(), content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = _attachment(
        _("question-import-template"), ".xlsx", "question-import-template"
    )
    return response
