"""The projector screen: the round for a hall to watch, opened with the secret key in
its URL (realtime.live.selectors.screen_key)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..selectors import screen_key_valid
from .common import pin_view, qr_svg, round_join_url, round_or_404, team_config
from .strings import client_strings


@never_cache
@require_GET
@pin_view
def screen(request: HttpRequest, pin: str) -> HttpResponse:
    live = round_or_404(request, pin)
    key = request.GET.get("key", "")
    if not screen_key_valid(live, key):
        raise PermissionDenied
    join_url = round_join_url(request, live)
    config = {"role": "screen", "pin": live.pin, "key": key, **team_config(live, schools=True)}
    response = render(
        request,
        "realtime/screen.html",
        {
            "live": live,
            "join_url": join_url,
            "enter_url": request.build_absolute_uri(reverse("realtime:enter")),
            "qr": qr_svg(join_url, scale=8),
            "config": config,
            "strings": client_strings(),
        },
    )
    # The key is a secret: keep it out of Referer headers to other sites.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
