"""Account pages: thin adapters over accounts.services and accounts.selectors."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import services
from .decorators import consent_request_form_for, play_required
from .forms import AccountDeleteForm, ConsentForm, ConsentRequestForm, ConsentWithdrawForm
from .selectors import consent_overview, consent_state, profile_for


def _me_page(request, *, request_form: ConsentRequestForm | None = None, status: int = 200):
    user = request.user
    overview = consent_overview(user=user)
    if request_form is None and overview.blocked:
        request_form = consent_request_form_for(user, overview)
    return render(
        request,
        "accounts/me.html",
        {"profile": profile_for(user=user), "overview": overview, "request_form": request_form},
        status=status,
    )


@login_required
@require_GET
def me(request):
    return _me_page(request)


@play_required
@require_GET
def play(request):
    return render(request, "accounts/play.html", {"profile": profile_for(user=request.user)})


# --- guardian consent ---------------------------------------------------------------


def _link_error(request, error: services.ConsentLinkError):
    return render(
        request,
        "accounts/consent_link_error.html",
        {"message": error.message, "spent": error.spent},
        status=error.status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def consent(request, token):
    """The page a guardian reaches from the emailed or texted link."""
    try:
        link = services.consent_token_read(token)
    except services.ConsentLinkError as error:
        return _link_error(request, error)
    child = link["child"]
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            consent = services.consent_grant(
                child=child,
                guardian_contact=link["contact"],
                relationship=link["rel"],
                allow_public_display=form.cleaned_data["allow_public_display"],
                consent_request=link["request"],
                request=request,
                notify_guardian=True,
            )
        except services.ConsentLinkError as error:  # the same link, submitted twice at once
            return _link_error(request, error)
        # The link is used up now, so the answer is a page of its own rather than a
        # redirect back to it (which would say the link no longer works).
        return render(
            request,
            "accounts/consent_granted.html",
            {"child_profile": profile_for(user=child), "child": child, "consent": consent},
        )
    return render(
        request,
        "accounts/consent.html",
        {
            "form": form,
            "child_profile": profile_for(user=child),
            "child": child,
            "latest": consent_state(user=child),
            "notice_version": settings.CONSENT_NOTICE_VERSION,
        },
        status=400 if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def consent_withdraw(request, token):
    """The page a guardian reaches from the link in the confirmation; never expires."""
    try:
        link = services.consent_withdraw_token_read(token)
    except services.ConsentLinkError as error:
        return _link_error(request, error)
    child = link["child"]
    form = ConsentWithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        deleting = form.cleaned_data["delete_account"]
        record = services.consent_withdraw(
            child=child,
            guardian_contact=link["contact"],
            relationship=link["rel"],
            notify_guardian=True,
            delete_account=deleting,
        )
        if deleting:
            return render(request, "accounts/consent_withdrawn.html", {"deleted": True})
        if record is None:
            messages.info(request, _("There was no consent in force, so nothing changed."))
        else:
            messages.success(request, _("Your consent is withdrawn. The account cannot play now."))
        return redirect("accounts:consent_withdraw", token=token)
    return render(
        request,
        "accounts/consent_withdraw.html",
        {
            "form": form,
            "child_profile": profile_for(user=child),
            "latest": consent_state(user=child),
        },
    )


@login_required
@require_POST
def consent_resend(request):
    form = ConsentRequestForm(request.POST, user=request.user)
    if not form.is_valid():
        return _me_page(request, request_form=form, status=400)
    try:
        services.consent_request_resend(
            child=request.user,
            guardian_contact=form.cleaned_data["guardian_contact"],
            relationship=form.cleaned_data["guardian_relationship"],
            request=request,
        )
    except services.ConsentRequestError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("We sent the consent link to %(contact)s.")
            % {"contact": form.cleaned_data["guardian_contact"]},
        )
    return redirect("accounts:me")


# --- personal data --------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def export(request):
    data = services.user_export_data(user=request.user)
    filename = f"sciarena-my-data-{timezone.localdate():%Y%m%d}.json"
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def delete(request):
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_delete(user=request.user)
        logout(request)
        messages.success(
            request,
            _("Your account is deleted. Your personal data is gone; results stay without a name."),
        )
        return redirect("frontend:home")
    status = 429 if form.too_many_tries else 400 if form.errors else 200
    return render(request, "accounts/delete.html", {"form": form}, status=status)
