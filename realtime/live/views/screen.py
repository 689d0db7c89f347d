"""The projector screen: the round for a hall to watch, opened with the secret key in
its URL (realtime.live.selectors.screen_key), which the host console links to. Without
the key: the host goes on to the keyed address, anyone else is told where to open it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ...models import LiveRound
from ..selectors import screen_key, screen_key_valid
from ..state import is_host
from .common import pin_view, qr_svg, round_join_url, round_or_404, team_config
from .strings import client_strings


@never_cache
@require_GET
@pin_view
def screen(request: HttpRequest, pin: str) -> HttpResponse:
    live = round_or_404(request, pin)
    key = request.GET.get("key", "")
    if not screen_key_valid(live, key):
        return screen_locked(request, live)
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


def screen_locked(request: HttpRequest, live: LiveRound) -> HttpResponse:
    """The screen's address without its key (or with a wrong one): the round's host,
    signed in, goes on to the keyed address; anyone else gets a page that says to open
    the screen from the host console (403), never the round."""
    if is_host(live, request.user):
        return redirect(reverse("realtime:screen", args=[live.pin]) + "?key=" + screen_key(live))
    response = render(
        request,
        "realtime/screen_locked.html",
        {"live": live, "host_url": reverse("realtime:host", args=[live.pin])},
        status=403,
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
