"""What the live-round pages share: the round a PIN names, QR codes, join URLs and
the team configuration the scripts start from."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import segno
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe

from ...models import LiveRound
from ...scoring import RISK_STAKES, START_SCORE
from ..pins import PIN_WINDOW_S, PinThrottled, client_address, round_for_pin_throttled
from ..selectors import teams_with_members
from ..state import is_host


def round_for_pin_or_none(request: HttpRequest, pin: str) -> LiveRound | None:
    """The round a PIN names, looked up under the PIN throttle (realtime.live.pins): a
    view that calls this is wrapped in `pin_view`, which answers PinThrottled."""
    session = getattr(request, "session", None)
    return round_for_pin_throttled(
        pin,
        address=client_address(request),
        session=session.session_key if session is not None else None,
    )


def round_or_404(request: HttpRequest, pin: str) -> LiveRound:
    live = round_for_pin_or_none(request, pin)
    if live is None:
        raise Http404
    return live


def pin_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that looks a PIN up: too many wrong PINs from here get a 429 page that
    says to wait (and a Retry-After), never the round."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PinThrottled:
            response = render(request, "realtime/pin_throttled.html", status=429)
            response.headers["Retry-After"] = str(PIN_WINDOW_S)
            return response

    return wrapper


def hosted_round(request: HttpRequest, pin: str) -> LiveRound:
    live = round_or_404(request, pin)
    if not is_host(live, request.user):
        raise PermissionDenied
    return live


def qr_svg(url: str, scale: int) -> str:
    svg = segno.make(url, error="m").svg_inline(scale=scale, dark="#000", light="#fff")
    return mark_safe(svg)  # noqa: S308 - segno's own SVG of our URL


def round_join_url(request: HttpRequest, live: LiveRound) -> str:
    return request.build_absolute_uri(reverse("realtime:play", args=[live.pin]))


def team_config(live: LiveRound, *, schools: bool = False) -> dict:
    """What the scripts need to know of a team round before its socket says more.
    `schools`: the teams' schools too (the host's console and the keyed screen only)."""
    return {
        "kind": live.kind,
        "teamMode": live.team_mode,
        "playsAsTeams": live.plays_as_teams,
        "captainsAnswer": live.captains_answer,
        "startScore": START_SCORE if live.kind == LiveRound.Kind.FINALS else 0,
        "stakes": list(RISK_STAKES),
        "teamsUrl": reverse("realtime:teams", args=[live.pin]),
        "teams": team_rows(live, schools=schools) if live.plays_as_teams else [],
    }


def team_rows(live: LiveRound, *, schools: bool = False) -> list[dict]:
    """The round's teams: id, name and how many play in each, which is what a player
    needs to choose one (the player page and /live/<pin>/teams/, open to anyone with
    the PIN). A team's school (`schools`) only for the host, who set it, and the
    projector screen the host opens with its key."""
    rows = []
    for team in teams_with_members(live):
        row = {"id": team.pk, "name": team.name, "members": team.players}
        if schools:
            row["school"] = team.school.name if team.school else ""
        rows.append(row)
    return rows
