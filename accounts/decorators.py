"""View decorators for accounts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .devices import note_child
from .forms import ConsentRequestForm
from .selectors import consent_overview, device_may_play_as_guest, user_can_play


def consent_request_form_for(user, overview) -> ConsentRequestForm:
    return ConsentRequestForm(
        user=user,
        initial={
            "guardian_contact": overview.guardian_contact,
            "guardian_relationship": overview.relationship,
        },
    )


def play_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only people who may play get through.

    Anonymous visitors are sent to sign in. A child whose guardian has not consented
    (or has withdrawn) gets a 403 page that says so and offers to send the link again.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_can_play(user=user):
            note_child(request, user)  # and no guest play on this device either
            overview = consent_overview(user=user)
            return render(
                request,
                "accounts/consent_required.html",
                {
                    "overview": overview,
                    "request_form": consent_request_form_for(user, overview),
                },
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper


def guest_device_refused(request: HttpRequest) -> HttpResponse:
    """The page for a guest on a device whose child account may not play."""
    return render(request, "accounts/consent_device.html", status=403)


def guests_checked(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors get through unless their device is marked as a child's who
    may not play (accounts.selectors.device_may_play_as_guest): they get a 403 page
    that explains why. Signed-in people get through untouched. Every page where a
    guest plays carries it (play_or_guest does); tests/hostile/test_consent_replay.py
    walks them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated and not device_may_play_as_guest(
            cookies=request.COOKIES
        ):
            return guest_device_refused(request)
        return view(request, *args, **kwargs)

    wrapper.guest_entry = True  # type: ignore[attr-defined]
    return wrapper


def play_or_guest(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """play_required for people signed in; anonymous visitors get through as guests
    (guests_checked: not on a device of a child who may not play).

    The view must then tell the two apart (`request.user.is_authenticated`) and give a
    guest only what guests may have.
    """
    checked = play_required(view)

    @guests_checked
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        return checked(request, *args, **kwargs)

    return wrapper


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages for people who run things (teachers, organizers, admins): question banks,
    hosting live rounds. Anonymous visitors go to the login page; players get 403."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not (request.user.is_staff_member or request.user.is_superuser):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def organizer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages for organizers and admins only (the school directory): anonymous visitors
    go to the login page; teachers and players get 403."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_organizer:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
