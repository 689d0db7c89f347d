import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .admission import busy_page
from .context_processors import elder_mode_active
from .health import run_checks
from .services import elder_mode_set

ELDER_MODE_COOKIE_AGE = 365 * 24 * 3600


def home(request):
    return render(request, "frontend/home.html")


@never_cache
def healthz(request):
    checks = run_checks()
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )


def _safe_next(request) -> str:
    """Where to go back to: `next` if it stays on this site, else the home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("frontend:home")


@require_POST
def elder_mode(request):
    """Turn elder mode on or off. The form sends the wanted state (`elder` = "1" or
    "0"), so a double submit does no harm; without it the current state flips.

    Works without JavaScript (form POST, then back to `next`); site.js sends the same
    form with fetch and gets JSON back."""
    wanted = request.POST.get("elder")
    enabled = wanted == "1" if wanted in {"1", "0"} else not elder_mode_active(request)
    elder_mode_set(user=request.user, enabled=enabled)

    wants_json = "application/json" in request.headers.get("Accept", "")
    if wants_json:
        response = JsonResponse({"elder_mode": enabled})
    else:
        response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(
        settings.ELDER_MODE_COOKIE_NAME,
        "1" if enabled else "0",
        max_age=ELDER_MODE_COOKIE_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def server_error(request):
    """handler500: a database that cannot be reached or has no connection free (the
    pool's timeout, an outage, SQLite's lock wait) is a 503 with Retry-After, the same
    busy page the admission layer sheds with, not a 500: the request may simply be
    sent again. Anything else is the 500 page. Django calls this inside its `except`
    block, so the exception is at hand; the page needs no database."""
    failure = sys.exc_info()[1]
    if isinstance(failure, (OperationalError, InterfaceError)):
        language = translation.get_language() or settings.LANGUAGE_CODE
        body = busy_page(language, refresh=request.method in ("GET", "HEAD"))
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "1"
        return response
    return render(request, "500.html", status=500)
