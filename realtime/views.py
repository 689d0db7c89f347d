"""Pages for live rounds: enter a PIN, play, host, project.

Thin adapters. The pages carry no game state beyond the PIN and the title: everything
else comes over the round's WebSocket (realtime.consumers), where the server decides.
Nothing here reads or renders a key, an explanation or a correct flag.
"""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from accounts.models import user_display
from accounts.selectors import user_can_play
from quizzes.bank_selectors import banks_for

from . import play, services
from .forms import RosterForm, RoundForm, TeamForm, TurnsForm
from .models import LiveQuestion, LiveRound, LiveTeam
from .nicknames import MAX_LENGTH as NICKNAME_MAX_LENGTH
from .nicknames import generated_nickname
from .results import results_xlsx
from .scoring import RISK_STAKES, START_SCORE
from .selectors import PIN_RE, round_for_pin, screen_key, screen_key_valid

# --- helpers ---------------------------------------------------------------------------


def _round_or_404(pin: str) -> LiveRound:
    live = round_for_pin(pin)
    if live is None:
        raise Http404
    return live


def _qr_svg(url: str, scale: int) -> str:
    svg = segno.make(url, error="m").svg_inline(scale=scale, dark="#000", light="#fff")
    return mark_safe(svg)  # noqa: S308 - segno's own SVG of our URL


def _join_url(request: HttpRequest, live: LiveRound) -> str:
    return request.build_absolute_uri(reverse("realtime:play", args=[live.pin]))


def client_strings() -> dict[str, str]:
    """Every text the live-round scripts show, translated here (one catalogue)."""
    return {
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "question_of": _("Question %(n)s of %(total)s"),
        "seconds_left": _("%(s)s seconds left"),
        "time_up": _("Time is up."),
        "answer_sending": _("Sending your answer…"),
        "answer_received": _("Answer received."),
        "answer_submit": _("Submit answer"),
        "answer_clear": _("Start again"),
        "answer_placeholder": _("Type your answer"),
        "true": _("True"),
        "false": _("False"),
        "ordering_hint": _("Tap the options in the right order, then submit."),
        "multiple_hint": _("Choose every right option, then submit."),
        "closed": _("Answers are closed. Wait for the result."),
        "correct": _("Right!"),
        "wrong": _("Not this time."),
        "no_answer": _("You did not answer this question."),
        "gained": _("+%(points)s points"),
        "total": _("Total: %(points)s points"),
        "rank": _("Rank: %(rank)s"),
        "streak": _("Streak: %(streak)s"),
        "right_answer": _("Right answer"),
        "accepted_answers": _("Accepted answers: %(answers)s"),
        "answer_is": _("Right answer: %(value)s"),
        "final_results": _("Final results"),
        "leaderboard": _("Leaderboard"),
        "your_rank": _("You are number %(rank)s with %(points)s points."),
        "finished": _("The round is over. Thank you for playing!"),
        "paused": _("The host paused the round."),
        "aborted": _("The host stopped the round."),
        "kicked": _("The host removed you from this round."),
        "voided": _("Question %(n)s no longer counts. The scores were updated."),
        "answer_one": _("%(n)s answer"),
        "answers_count": _("%(n)s answers"),
        "your_answer": _("Your answer"),
        "points": _("points"),
        "reject_too_late": _("Too late: the time was up when your answer arrived."),
        "reject_too_early": _("The question was not open yet."),
        "reject_not_open": _("The question is closed."),
        "reject_already_answered": _("You have already answered this question."),
        "reject_not_current_question": _("That question is no longer open."),
        "reject_bad_response": _("That answer could not be read. Try again."),
        "reject_kicked": _("The host removed you from this round."),
        "reject_other": _("Your answer was not accepted."),
        "error_nickname": _("Choose a nickname."),
        "error_roster_token": _("Type the join code from your card."),
        "error_nickname_taken": _("Someone in this round already uses that nickname."),
        "error_locked": _("The host has locked this round."),
        "error_round_over": _("This round is over."),
        "error_no_round": _("There is no round with this PIN."),
        "error_consent_required": _("A guardian must agree before you can play."),
        "error_rate_limited": _("Too fast. Wait a moment."),
        "error_other": _("Something went wrong. Try again."),
        "status_lobby": _("Lobby"),
        "status_question_open": _("Question open"),
        "status_question_closed": _("Question closed"),
        "status_revealed": _("Answer revealed"),
        "status_leaderboard": _("Leaderboard"),
        "status_paused": _("Paused"),
        "status_finished": _("Finished"),
        "status_aborted": _("Aborted"),
        "kick": _("Remove"),
        "kick_confirm": _("Remove %(name)s from the round?"),
        "abort_confirm": _("Stop the round for everyone? This cannot be undone."),
        "void_confirm": _("Void question %(n)s and re-score the round?"),
        "locked_yes": _("Locked: nobody else can join."),
        "locked_no": _("Open: players can join."),
        "distribution": _("Answers per option"),
        "no_distribution": _("Typed answers are not charted."),
        **team_strings(),
    }


def team_strings() -> dict[str, str]:
    """Texts of team rounds and the stage finals: teams, captains, turns, buzz, stakes."""
    return {
        "error_team": _("Choose your team."),
        "team_of": _("Your team: %(team)s"),
        "captain": _("captain"),
        "team_points": _("Team: %(points)s points"),
        "team_standing": _("%(team)s: %(points)s points, rank %(rank)s"),
        "team_rank_line": _("%(team)s is number %(rank)s with %(points)s points."),
        "team_members_one": _("%(n)s player"),
        "team_members": _("%(n)s players"),
        "you_captain": _("You are your team's captain: you answer, buzz and stake for the team."),
        "you_member": _("Your team's captain answers for the team. Follow the questions here."),
        "captain_answers": _("Your captain answers this question for the team."),
        "captain_answered": _("Your captain answered for the team."),
        "lost": _("−%(points)s points"),
        "turn_all": _("Every team answers"),
        "turn_compulsory": _("Compulsory (必答): %(team)s answers"),
        "turn_buzzer": _("Buzzer (抢答): the first team to buzz answers"),
        "turn_risk": _("Risk (风险): %(team)s answers for its stake"),
        "turn_tiebreak": _("Tie-break: no points, it breaks a tie"),
        "value_plus": _("+%(value)s points if right"),
        "value_both": _("±%(value)s points"),
        "stake_is": _("Stake: %(stake)s points"),
        "stake_none": _("No stake chosen: the team plays for 10 points."),
        "other_turn": _("It is %(team)s's turn. Watch and wait."),
        "not_our_question": _("This question was not your team's."),
        "buzz_sending": _("Buzzing…"),
        "buzz_first": _("You buzzed first! Answer now."),
        "buzz_led_by": _("%(team)s buzzed first."),
        "buzz_nobody": _("Nobody has buzzed yet."),
        "buzz_reject_too_late": _("Too late to buzz."),
        "buzz_reject_too_early": _("The question was not open yet."),
        "buzz_reject_not_open": _("The question is closed."),
        "buzz_reject_other": _("Your buzz was not accepted."),
        "stake_sending": _("Sending your stake…"),
        "stake_done": _("Your stake: %(stake)s points."),
        "staked": _("%(team)s stakes %(stake)s points on question %(n)s."),
        "stake_reject_too_late": _("Too late: the question has been shown."),
        "stake_reject_already_staked": _("Your team has already chosen another stake."),
        "stake_reject_other": _("Your stake was not accepted."),
        "reject_not_captain": _("Only your team's captain answers."),
        "reject_not_your_turn": _("It is not your team's turn."),
        "no_team": _("No team"),
    }


# --- player ----------------------------------------------------------------------------


@require_GET
def enter(request: HttpRequest) -> HttpResponse:
    """Type a PIN; with a PIN that names a round, go to its player page."""
    pin = (request.GET.get("pin") or "").strip().replace(" ", "")
    error = ""
    if "pin" in request.GET:
        if not PIN_RE.match(pin):
            error = _("A PIN has six digits.")
        elif round_for_pin(pin) is None:
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
def player(request: HttpRequest, pin: str) -> HttpResponse:
    live = _round_or_404(pin)
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
        **_team_config(live),
    }
    return render(
        request,
        "realtime/player.html",
        {"live": live, "config": config, "strings": client_strings()},
    )


def _team_config(live: LiveRound) -> dict:
    """What the scripts need to know of a team round before its socket says more."""
    return {
        "kind": live.kind,
        "teamMode": live.team_mode,
        "playsAsTeams": live.plays_as_teams,
        "captainsAnswer": live.captains_answer,
        "startScore": START_SCORE if live.kind == LiveRound.Kind.FINALS else 0,
        "stakes": list(RISK_STAKES),
        "teamsUrl": reverse("realtime:teams", args=[live.pin]),
        "teams": _teams(live) if live.plays_as_teams else [],
    }


def _teams(live: LiveRound) -> list[dict]:
    teams = (
        LiveTeam.objects.filter(round=live)
        .select_related("school")
        .annotate(players=Count("members", filter=Q(members__kicked=False)))
        .order_by("position", "pk")
    )
    return [
        {
            "id": team.pk,
            "name": team.name,
            "school": team.school.name if team.school else "",
            "members": team.players,
        }
        for team in teams
    ]


@never_cache
@require_GET
def teams(request: HttpRequest, pin: str) -> JsonResponse:
    """The teams of a team round (to choose one at join) and, in the stage finals, who
    answers each question (so a captain knows when to stake). Nothing of the questions
    themselves. With ?roster=<token>: the team that join slip is for."""
    live = _round_or_404(pin)
    data: dict = {"teams": _teams(live) if live.plays_as_teams else []}
    if live.kind == LiveRound.Kind.FINALS:
        data["turns"] = [
            {"index": position, "turn": turn, "team": team, "value": value}
            for position, turn, team, value in live.questions.order_by("position").values_list(
                "position", "turn", "team_id", "value"
            )
        ]
    token = (request.GET.get("roster") or "")[:64]
    if token:
        entry = live.roster.select_related("team").filter(token=token).first()
        if entry is not None and entry.team is not None:
            data["mine"] = {"id": entry.team.pk, "name": entry.team.name}
    return JsonResponse(data)


def pk_strings() -> dict[str, str]:
    """The texts of the 1-v-1 PK page's script, on top of the live rounds' own."""
    return {
        "pk_waiting": _("Looking for an opponent…"),
        "pk_wait_left": _("Waiting at most %(s)s more seconds."),
        "pk_timeout": _("Nobody is free right now. Try again in a moment."),
        "pk_cancelled": _("You stopped looking."),
        "pk_versus": _("%(you)s vs %(opponent)s"),
        "pk_get_ready": _("Get ready! The first question comes in %(s)s seconds."),
        "pk_opponent_answered": _("Your opponent has answered."),
        "pk_next_in": _("Next question in %(s)s seconds."),
        "pk_result_in": _("The result comes in %(s)s seconds."),
        "pk_win": _("You win!"),
        "pk_lose": _("Your opponent wins this time."),
        "pk_draw": _("A draw!"),
        "pk_score_line": _("%(you)s %(mine)s : %(theirs)s %(opponent)s"),
        "pk_opponent_right": _("Your opponent was right."),
        "pk_opponent_wrong": _("Your opponent was wrong."),
        "pk_opponent_none": _("Your opponent did not answer."),
        "error_sign_in_required": _("Sign in to play PK."),
        "error_no_questions": _("No questions are ready for PK yet."),
        "error_unknown_player": _("That match is over or not yours."),
    }


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


# --- host ------------------------------------------------------------------------------


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


def _hosted_round(request: HttpRequest, pin: str) -> LiveRound:
    live = _round_or_404(pin)
    if not play.is_host(live, request.user):
        raise PermissionDenied
    return live


def _host_context(request: HttpRequest, live: LiveRound) -> dict:
    join_url = _join_url(request, live)
    screen_url = reverse("realtime:screen", args=[live.pin]) + "?key=" + screen_key(live)
    questions = list(live.questions.order_by("position").values_list("position", flat=True))
    config = {
        "role": "host",
        "pin": live.pin,
        **_team_config(live),
    }
    return {
        "live": live,
        "join_url": join_url,
        "qr": _qr_svg(join_url, scale=5),
        "screen_url": screen_url,
        "questions": [n + 1 for n in questions],
        "config": config,
        "strings": client_strings(),
    }


@never_cache
@login_required
@require_GET
def host(request: HttpRequest, pin: str) -> HttpResponse:
    live = _hosted_round(request, pin)
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
        setup["team_list"] = _teams(live)
    if setup["roster"]:
        setup["roster_count"] = live.roster.count()
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
def host_team_add(request: HttpRequest, pin: str) -> HttpResponse:
    live = _hosted_round(request, pin)
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
def host_turns(request: HttpRequest, pin: str) -> HttpResponse:
    """Every question's turn, team and value in one go: all of them or none."""
    live = _hosted_round(request, pin)
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
def host_roster(request: HttpRequest, pin: str) -> HttpResponse:
    """A roster file, taken whole or not at all; the problems by row and column."""
    live = _hosted_round(request, pin)
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
def host_slips(request: HttpRequest, pin: str) -> HttpResponse:
    """Join slips to print and cut: one per student on the roster, with a QR code of the
    player page and the student's token. The host only (the tokens are the students)."""
    live = _hosted_round(request, pin)
    join_url = _join_url(request, live)
    slips = []
    for entry in live.roster.select_related("school", "team").order_by(
        "team__position", "team__name", "school__name", "name"
    ):
        url = join_url + "?" + urlencode({"roster": entry.token})
        slips.append({"entry": entry, "url": url, "qr": _qr_svg(url, scale=3)})
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
def host_results(request: HttpRequest, pin: str) -> HttpResponse:
    """The round's results as XLSX: players, questions, and every accepted answer with
    its server receive time (the audit trail). The host only."""
    live = _hosted_round(request, pin)
    filename = f"{_('results')}-{live.pin}-{live.created_at:%Y%m%d}.xlsx"
    return HttpResponse(
        results_xlsx(live),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": content_disposition_header(True, filename),
            "Cache-Control": "private",  # never_cache adds no-store
        },
    )


# --- screen ----------------------------------------------------------------------------


@never_cache
@require_GET
def screen(request: HttpRequest, pin: str) -> HttpResponse:
    live = _round_or_404(pin)
    key = request.GET.get("key", "")
    if not screen_key_valid(live, key):
        raise PermissionDenied
    join_url = _join_url(request, live)
    config = {"role": "screen", "pin": live.pin, "key": key, **_team_config(live)}
    response = render(
        request,
        "realtime/screen.html",
        {
            "live": live,
            "join_url": join_url,
            "enter_url": request.build_absolute_uri(reverse("realtime:enter")),
            "qr": _qr_svg(join_url, scale=8),
            "config": config,
            "strings": client_strings(),
        },
    )
    # The key is a secret: keep it out of Referer headers to other sites.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
