"""Two-factor authentication is required for the roles that run things
(accounts.roles.mfa_required): until such a user has TOTP set up, every page sends
them to allauth's page that sets it up, except the pages that page needs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .roles import mfa_pending, mfa_required

# allauth's pages a user needs on the way to TOTP (and out of the site); every page
# of allauth.mfa (named mfa_*) is let through as well.
ALLOWED_URL_NAMES = {
    "account_logout",
    "account_reauthenticate",
    "set_language",
    "healthz",
}


class MFARequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.open_prefixes = tuple(
            prefix
            for prefix in (settings.STATIC_URL, settings.MEDIA_URL, "/i18n/", "/healthz")
            if prefix
        )

    def __call__(self, request):
        user = getattr(request, "user", None)
        # The role first: for everyone else (nearly every request) that is attributes of
        # the user already loaded, with no URL resolved and no authenticator looked up.
        if (
            user is not None
            and mfa_required(user)
            and not self._allowed(request.path_info)
            and mfa_pending(user)
        ):
            return self._to_activation(request)
        return self.get_response(request)

    def _allowed(self, path: str) -> bool:
        if path.startswith(self.open_prefixes):
            return True
        try:
            name = resolve(path).url_name or ""
        except Resolver404:
            return False
        return name in ALLOWED_URL_NAMES or name.startswith("mfa_")

    def _to_activation(self, request):
        if request.method == "GET" and not request.headers.get("HX-Request"):
            messages.info(
                request,
                _(
                    "Your role needs two-factor authentication: set up an authenticator "
                    "app to go on."
                ),
            )
        url = reverse("mfa_activate_totp")
        if request.method == "GET":
            url += "?" + urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
        return HttpResponseRedirect(url)
