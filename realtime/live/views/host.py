"""The host's pages: a new round, the console, the lobby setup (teams, the turns of the
stage finals, a roster file), join slips and the results export. Thin adapters that
parse input and call realtime.live.services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from quizzes.bank.selectors import banks_for

from ...models import LiveQuestion, LiveRound
from .. import services
from ..forms import RosterForm, RoundForm, TeamForm, TurnsForm
from ..results import results_xlsx
from ..selectors import question_positions, roster_count, roster_for_slips, screen_key
from .common import hosted_round, pin_view, qr_svg, round_join_url, team_config, team_rows
from .strings import client_strings


@staff_required
def round_new(request: HttpRequest) -> HttpResponse:
    """Choose a bank, then its published questions, the time and the scoring."""
    banks = list(banks_for(user=request.user))
    bank_id = request.POST.get("bank") or request.GET.get("bank")
    if bank_id is None and len(banks) == 1:
        bank_id = str(banks[0].pk)
    bank = next((b for b in banks if str(b.pk) == str(bank_id)), None)
    bank_error = ""
    if bank_id is not None and bank is None:
        bank_error = _("Choose one of your question banks.")
    form = None
    if bank is not None:
        form = RoundForm(request.POST or None, bank=bank)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                live = services.round_create(
                    host=request.user,
                    title=data["title"],
                    versions=data["versions"],
                    kind=data["kind"],
                    seconds_per_question=data["seconds_per_question"],
                    join_mode=data["join_mode"],
                    team_mode=data["team_mode"] or LiveRound.TeamMode.NONE,
                )
            except (ValidationError, PermissionDenied) as refused:
                form.add_error(None, " ".join(_reasons(refused)))
            else:
                return redirect("realtime:host", live.pin)
    status = 400 if request.method == "POST" and (bank is None or form.errors) else 200
    return render(
        request,
        "realtime/new.html",
        {"banks": banks, "bank": bank, "bank_error": bank_error, "form": form},
        status=status,
    )


def _reasons(refused: Exception) -> list[str]:
    return list(getattr(refused, "messages", None) or [str(refused)])


def _host_context(request: HttpRequest, live: LiveRound) -> dict:
    join_url = round_join_url(request, live)
    screen_url = reverse("realtime:screen", args=[live.pin]) + "?key=" + screen_key(live)
    questions = question_positions(live)
    config = {
        "role": "host",
        "pin": live.pin,
        **team_config(live, schools=True),
    }
    return {
        "live": live,
        "join_url": join_url,
        "qr": qr_svg(join_url, scale=5),
        "screen_url": screen_url,
        "questions": [n + 1 for n in questions],
        "config": config,
        "strings": client_strings(),
    }


@never_cache
@login_required
@require_GET
@pin_view
def host(request: HttpRequest, pin: str) -> HttpResponse:
    live = hosted_round(request, pin)
    context = _host_context(request, live)
    context.update(_setup_context(live))
    return render(request, "realtime/host.html", context)


# --- host: the lobby setup (teams, turns of the finals, roster) --------------------------------


def _setup_context(live: LiveRound, **forms_and_results) -> dict:
    """The setup section of the console: shown only while the round is in the lobby."""
    roster = live.join_mode == LiveRound.JoinMode.ROSTER
    # Individual rounds in open mode have nothing to set up.
    in_lobby = live.status == LiveRound.Status.LOBBY and (live.plays_as_teams or roster)
    setup = {
        "in_lobby": in_lobby,
        "teams": live.plays_as_teams,
        "finals": live.kind == LiveRound.Kind.FINALS,
        "roster": roster,
    }
    if live.plays_as_teams:
        setup["team_list"] = team_rows(live, schools=True)
    if setup["roster"]:
        setup["roster_count"] = roster_count(live)
    if in_lobby:
        if live.plays_as_teams:
            setup["team_form"] = TeamForm()
        if setup["finals"]:
            setup["turns_form"] = TurnsForm(live=live)
        if setup["roster"]:
            setup["roster_form"] = RosterForm()
    setup.update(forms_and_results)
    return {"setup": setup}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _setup_done(request: HttpRequest, live: LiveRound, done: str, notice: str) -> HttpResponse:
    """A change (`done`: team, turns, roster) was saved. htmx swaps in the fresh section;
    a plain form post goes back to the console (post/redirect/get) with a message."""
    if _is_htmx(request):
        context = _setup_context(live, notice=notice, done=done)
        return render(request, "realtime/_setup.html", {"live": live, **context})
    messages.success(request, notice)
    return redirect(reverse("realtime:host", args=[live.pin]) + "#live-setup")


def _setup_refused(request: HttpRequest, live: LiveRound, **forms_and_results) -> HttpResponse:
    """Nothing was saved: the section again, with the reasons next to the fields. (htmx
    swaps only successful responses, so it gets a 200; a plain post gets a 400.)"""
    live.refresh_from_db(fields=["status"])
    if live.status != LiveRound.Status.LOBBY:
        forms_and_results = {"error": _("The round has started: the setup can no longer change.")}
    context = _setup_context(live, **forms_and_results)
    if _is_htmx(request):
        return render(request, "realtime/_setup.html", {"live": live, **context})
    page = _host_context(request, live)
    page.update(context)
    return render(request, "realtime/host.html", page, status=400)


@login_required
@require_POST
@pin_view
def host_team_add(request: HttpRequest, pin: str) -> HttpResponse:
    live = hosted_round(request, pin)
    if not live.plays_as_teams:
        raise Http404
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = services.team_create(
                live=live,
                actor=request.user,
                name=form.cleaned_data["name"],
                school=form.cleaned_data["school"],
            )
        except (ValidationError, PermissionDenied) as refused:
            form.add_error("name" if _code(refused) == "team_name" else None, _reasons(refused))
        else:
            return _setup_done(
                request, live, "team", _("Team “%(name)s” added.") % {"name": team.name}
            )
    return _setup_refused(request, live, team_form=form)


def _code(refused: Exception) -> str:
    return getattr(refused, "code", "") or ""


@login_required
@require_POST
@pin_view
def host_turns(request: HttpRequest, pin: str) -> HttpResponse:
    """Every question's turn, team and value in one go: all of them or none."""
    live = hosted_round(request, pin)
    if live.kind != LiveRound.Kind.FINALS:
        raise Http404
    form = TurnsForm(request.POST, live=live)
    if form.is_valid():
        try:
            with transaction.atomic():
                for position, turn, team, value in form.turns():
                    services.question_turn_set(
                        live=live,
                        actor=request.user,
                        position=position,
                        turn=turn,
                        team=team,
                        value=value,
                    )
        except (ValidationError, PermissionDenied, LiveQuestion.DoesNotExist) as refused:
            form.add_error(None, _reasons(refused))
        else:
            return _setup_done(request, live, "turns", _("The turns are saved."))
    return _setup_refused(request, live, turns_form=form)


@login_required
@require_POST
@pin_view
def host_roster(request: HttpRequest, pin: str) -> HttpResponse:
    """A roster file, taken whole or not at all; the problems by row and column."""
    live = hosted_round(request, pin)
    if live.join_mode != LiveRound.JoinMode.ROSTER:
        raise Http404
    form = RosterForm(request.POST, request.FILES)
    if not form.is_valid():
        return _setup_refused(request, live, roster_form=form)
    try:
        entries, report = services.roster_import(
            live=live, actor=request.user, data=form.file_bytes, filename=form.filename
        )
    except (ValidationError, PermissionDenied) as refused:
        form.add_error(None, _reasons(refused))
        return _setup_refused(request, live, roster_form=form)
    if not report.ok:
        return _setup_refused(
            request,
            live,
            roster_form=form,
            roster_report=report.as_dicts(),
            roster_file=form.filename,
        )
    notice = ngettext(
        "%(count)s student added to the roster.",
        "%(count)s students added to the roster.",
        len(entries),
    ) % {"count": len(entries)}
    return _setup_done(request, live, "roster", notice)


@never_cache
@login_required
@require_GET
@pin_view
def host_slips(request: HttpRequest, pin: str) -> HttpResponse:
    """Join slips to print and cut: one per student on the roster, with a QR code of the
    player page and the student's token. The host only (the tokens are the students)."""
    live = hosted_round(request, pin)
    join_url = round_join_url(request, live)
    slips = []
    for entry in roster_for_slips(live):
        url = join_url + "?" + urlencode({"roster": entry.token})
        slips.append({"entry": entry, "url": url, "qr": qr_svg(url, scale=3)})
    response = render(
        request,
        "realtime/slips.html",
        {
            "live": live,
            "slips": slips,
            "enter_url": request.build_absolute_uri(reverse("realtime:enter")),
        },
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@login_required
@require_GET
@pin_view
def host_results(request: HttpRequest, pin: str) -> HttpResponse:
    """The round's results as XLSX: players, questions, and every accepted answer with
    its server receive time (the audit trail). The host only, who sees the players as
    accounts.display lets them: a child without the guardian's consent to public
    display is named (with school and district) only to the staff of the child's own
    school; to a host from elsewhere the child is a generated name, no school."""
    live = hosted_round(request, pin)
    filename = f"{_('results')}-{live.pin}-{live.created_at:%Y%m%d}.xlsx"
    return HttpResponse(
        results_xlsx(live, viewer=request.user),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": content_disposition_header(True, filename),
            "Cache-Control": "private",  # never_cache adds no-store
        },
    )
