"""Organizer pages for question banks: thin adapters over services and selectors."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import staff_required
from quizzes.bank import selectors, services
from quizzes.bank.calibrations import calibration_request
from quizzes.bank.forms import BankForm, FilterForm, QuestionForm, key_as_text
from quizzes.bank.images import image_upload
from quizzes.models import (
    Bank,
    CalibrationRun,
    ItemParameters,
    Question,
    QuestionVersion,
    VersionStatus,
)
from quizzes.play import monitoring


def bank_for_request(request, bank_id) -> tuple[Bank, str]:
    bank = get_object_or_404(Bank, pk=bank_id)
    role = selectors.bank_role(bank=bank, user=request.user)
    if role is None:
        raise Http404
    return bank, role


def _question_for(request, question_id) -> tuple[Question, str]:
    question = get_object_or_404(Question.objects.select_related("bank"), pk=question_id)
    role = selectors.bank_role(bank=question.bank, user=request.user)
    if role is None:
        raise Http404
    return question, role


@staff_required
def bank_list(request):
    return render(
        request, "quizzes/bank_list.html", {"banks": selectors.banks_for(user=request.user)}
    )


@staff_required
def bank_create(request):
    form = BankForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        bank = services.bank_create(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            owner=request.user,
        )
        return redirect("quizzes:bank", bank.pk)
    return render(request, "quizzes/bank_form.html", {"form": form})


@staff_required
def bank_detail(request, bank_id):
    bank, role = bank_for_request(request, bank_id)
    filters = FilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    versions = selectors.latest_versions(bank=bank, filters=chosen)
    page = Paginator(versions, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "quizzes/bank_detail.html",
        {
            "bank": bank,
            "role": role,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "in_review": selectors.review_queue(bank=bank, reviewer=request.user).count()
            if selectors.sees_keys(role)
            else 0,
        },
    )


@staff_required
def question_create(request, bank_id):
    bank, role = bank_for_request(request, bank_id)
    if role != "owner":
        raise PermissionDenied
    form = QuestionForm(request.POST or None, initial={"difficulty": "medium"})
    if request.method == "POST" and form.is_valid():
        try:
            question = services.question_create(bank=bank, author=request.user, raw=form.raw())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            for warning in form.warnings:
                messages.warning(request, warning)
            messages.success(request, _("Question saved as a draft."))
            return redirect("quizzes:question", question.pk)
    return render(request, "quizzes/question_form.html", {"form": form, "bank": bank})


@staff_required
def question_detail(request, question_id):
    question, role = _question_for(request, question_id)
    history = selectors.question_history(question=question)
    version = history["versions"][0]
    return render(
        request,
        "quizzes/question_detail.html",
        {
            "question": question,
            "bank": question.bank,
            "version": version,
            "role": role,
            "sees_keys": selectors.sees_keys(role),
            "key_text": key_as_text(version) if selectors.sees_keys(role) else "",
            "history": history,
            "can_publish": selectors.sees_keys(role)
            and version.status == VersionStatus.IN_REVIEW
            and not services.version_contributed(version=version, user=request.user),
        },
    )


@staff_required
def question_edit(request, question_id):
    question, role = _question_for(request, question_id)
    if role != "owner":
        raise PermissionDenied
    version = question.versions.order_by("-number").first()
    if request.method == "POST":
        form = QuestionForm(request.POST)
        if form.is_valid():
            try:
                edited = services.question_edit(
                    question=question, editor=request.user, raw=form.raw()
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                for warning in form.warnings:
                    messages.warning(request, warning)
                if edited is None:
                    messages.info(request, _("Nothing changed: the question is as it was."))
                else:
                    messages.success(request, _("Changes saved."))
                return redirect("quizzes:question", question.pk)
    else:
        form = QuestionForm.from_version(version)
    return render(
        request,
        "quizzes/question_form.html",
        {"form": form, "bank": question.bank, "question": question, "version": version},
    )


@staff_required
@require_POST
def question_preview(request):
    """The question as a player will see it: stem and options, never the key."""
    form = QuestionForm(request.POST)
    form.is_valid()
    data = getattr(form, "question_data", None) or {}
    return render(
        request,
        "quizzes/_preview.html",
        {"data": data, "errors": form.errors, "warnings": form.warnings},
    )


@staff_required
@require_POST
def version_action(request, version_id, action):
    version = get_object_or_404(
        QuestionVersion.objects.select_related("question__bank"), pk=version_id
    )
    if selectors.bank_role(bank=version.question.bank, user=request.user) is None:
        raise Http404
    try:
        if action == "submit":
            services.version_submit(version=version, actor=request.user)
            messages.success(request, _("Sent for review."))
        elif action == "publish":
            services.version_publish(version=version, reviewer=request.user)
            messages.success(request, _("Published."))
        elif action == "reject":
            services.version_reject(
                version=version, reviewer=request.user, reason=request.POST.get("reason", "")[:500]
            )
            messages.success(request, _("Sent back to the author."))
        elif action == "retire":
            services.question_retire(question=version.question, actor=request.user)
            messages.success(request, _("Retired."))
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("quizzes:question", version.question_id)


@staff_required
@require_POST
def image_create(request):
    """Upload an image for a stem or explanation; answers with the <img> to insert."""
    upload = request.FILES.get("image")
    if upload is None:
        return render(
            request, "quizzes/_image.html", {"error": _("Choose an image file.")}, status=400
        )
    try:
        url = image_upload(upload=upload)
    except ValidationError as error:
        return render(
            request, "quizzes/_image.html", {"error": " ".join(error.messages)}, status=400
        )
    return render(request, "quizzes/_image.html", {"url": url})


@staff_required
def review_queue(request, bank_id):
    bank, role = bank_for_request(request, bank_id)
    if not selectors.sees_keys(role):
        raise PermissionDenied
    return render(
        request,
        "quizzes/review_queue.html",
        {"bank": bank, "versions": selectors.review_queue(bank=bank, reviewer=request.user)},
    )


# --- calibration (IRT parameters from recorded answers) ----------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def calibration(request, bank_id):
    """The bank's calibrations and item parameters; owners start a calibration here.
    While one runs, the status part reloads itself (htmx) to show its progress; a run
    whose worker is gone is given up as expired when the page asks (quizzes.models.jobs)."""
    bank, role = bank_for_request(request, bank_id)
    if role not in ("owner", "reviewer"):
        raise PermissionDenied
    if request.method == "POST":
        if role != "owner":
            raise PermissionDenied
        try:
            calibration_request(bank=bank, actor=request.user, model=request.POST.get("model", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Calibration queued."))
        return redirect("quizzes:calibration", bank.pk)
    CalibrationRun.objects.filter(bank=bank).expire_stale()
    runs = CalibrationRun.objects.filter(bank=bank)[:10]
    context = {"bank": bank, "role": role, "runs": runs, "running": any(r.is_live for r in runs)}
    if request.headers.get("HX-Request"):
        return render(request, "quizzes/_calibration_runs.html", context)
    parameters = ItemParameters.objects.filter(version__question__bank=bank).select_related(
        "version"
    )
    return render(
        request,
        "quizzes/calibration.html",
        {
            **context,
            "drifted": parameters.exclude(drift=[]).order_by("version__question_id"),
            "parameters": parameters.order_by("version__question_id")[:200],
            "calibrated": parameters.count(),
        },
    )


@require_GET
@staff_required
def literacy_monitoring(request):
    """The self-test's results by district and population group, anonymised
    (quizzes.play.monitoring); `?format=csv` downloads the same table."""
    cells = monitoring.literacy_monitoring()
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            True, "literacy-monitoring.csv"
        )
        response.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM as UTF-8
        writer = csv.writer(response)
        writer.writerow(
            [_("District code"), _("District"), _("Population group"), _("People"),
             _("Mean score"), _("Share literate (above 70)")]
        )  # fmt: skip
        for cell in cells:
            people = cell.people if cell.people is not None else f"<{monitoring.MIN_CELL}"
            writer.writerow(
                [cell.code, cell.district, cell.group, people,
                 "" if cell.mean_score is None else cell.mean_score,
                 "" if cell.literate_share is None else cell.literate_share]
            )  # fmt: skip
        return response
    return render(
        request,
        "quizzes/literacy_monitoring.html",
        {"cells": cells, "min_cell": monitoring.MIN_CELL},
    )
