"""Player pages: enter a PIN, play a round, choose a team, a generated nickname, and
the 1-v-1 PK. Thin adapters: the pages carry no game state beyond the PIN and the
title; everything else comes over the socket (realtime.consumers), where the server
decides. Nothing here reads or renders a key, an explanation or a correct flag."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import guests_checked
from accounts.models import user_display
from accounts.selectors import user_can_play

from ...models import LiveRound
from ..nicknames import MAX_LENGTH as NICKNAME_MAX_LENGTH
from ..nicknames import generated_nickname
from ..selectors import PIN_RE, finals_turns, roster_entry
from .common import pin_view, round_for_pin_or_none, round_or_404, team_config, team_rows
from .strings import client_strings, pk_strings


@require_GET
@pin_view
def enter(request: HttpRequest) -> HttpResponse:
    """Type a PIN; with a PIN that names a round, go to its player page."""
    pin = (request.GET.get("pin") or "").strip().replace(" ", "")
    error = ""
    if "pin" in request.GET:
        if not PIN_RE.match(pin):
            error = _("A PIN has six digits.")
        elif round_for_pin_or_none(request, pin) is None:
            error = _("There is no round with this PIN.")
        else:
            return redirect("realtime:play", pin)
    return render(
        request,
        "realtime/enter.html",
        {"pin": pin, "error": error},
        status=400 if error else 200,
    )


@never_cache
@require_GET
@pin_view
@guests_checked
def player(request: HttpRequest, pin: str) -> HttpResponse:
    live = round_or_404(request, pin)
    user = request.user
    config = {
        "role": "player",
        "pin": live.pin,
        "nickname": user_display(user)[:NICKNAME_MAX_LENGTH] if user.is_authenticated else "",
        "signedIn": user.is_authenticated,
        "nicknameUrl": reverse("realtime:nickname"),
        "maxNickname": NICKNAME_MAX_LENGTH,
        # Roster rounds: students type (or scan) the join code their school gave them.
        "joinMode": live.join_mode,
        "rosterToken": (request.GET.get("roster") or "")[:64],
        **team_config(live),
    }
    return render(
        request,
        "realtime/player.html",
        {"live": live, "config": config, "strings": client_strings()},
    )


@never_cache
@require_GET
@pin_view
def teams(request: HttpRequest, pin: str) -> JsonResponse:
    """The teams of a team round (to choose one at join): names and member counts,
    never their schools (those are for the host and the keyed screen); in the stage
    finals, who answers each question (so a captain knows when to stake). Nothing of
    the questions themselves. With ?roster=<token>: the team that join slip is for.
    Open to anyone with the PIN, under the PIN throttle (realtime.live.pins)."""
    live = round_or_404(request, pin)
    data: dict = {"teams": team_rows(live) if live.plays_as_teams else []}
    if live.kind == LiveRound.Kind.FINALS:
        data["turns"] = [
            {"index": position, "turn": turn, "team": team, "value": value}
            for position, turn, team, value in finals_turns(live)
        ]
    token = (request.GET.get("roster") or "")[:64]
    if token:
        entry = roster_entry(live, token)
        if entry is not None and entry.team is not None:
            data["mine"] = {"id": entry.team.pk, "name": entry.team.name}
    return JsonResponse(data)


@login_required
@never_cache
@require_GET
def pk_page(request: HttpRequest) -> HttpResponse:
    """1-v-1 PK: find another player waiting and play a short match. Everything
    happens over /ws/pk/ (realtime.pk_consumer); the page holds no game state."""
    config = {"role": "pk", "pin": "", "socketPath": "/ws/pk/"}
    strings = {**client_strings(), **pk_strings()}
    return render(
        request,
        "realtime/pk.html",
        {"config": config, "strings": strings, "may_play": user_can_play(user=request.user)},
    )


@never_cache
@require_GET
def nickname(request: HttpRequest) -> JsonResponse:
    """A friendly generated nickname for players who would rather not type one."""
    return JsonResponse({"nickname": generated_nickname()})
