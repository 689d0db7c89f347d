"""Pages for live rounds: enter a PIN, play, host, project.

Thin adapters. The pages carry no game state beyond the PIN and the title: everything
else comes over the round's WebSocket (realtime.consumers), where the server decides.
Nothing here reads or renders a key, an explanation or a correct flag.
"""

from __future__ import annotations

from functools import wraps

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import user_display
from quizzes.bank_selectors import banks_for
from quizzes.models import Bank, QuestionVersion, VersionStatus

from . import play, services
from .models import LivePlayer, LiveRound
from .nicknames import MAX_LENGTH as NICKNAME_MAX_LENGTH
from .nicknames import generated_nickname
from .results import results_xlsx
from .selectors import PIN_RE, round_for_pin, screen_key, screen_key_valid

MIN_SECONDS, MAX_SECONDS = 5, 300
MAX_QUESTIONS = 100
PAGE_KINDS = (LiveRound.Kind.CLASSIC, LiveRound.Kind.ACCURACY)


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


def staff_required(view):
    """Teachers, organizers and admins host rounds."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not (request.user.is_staff_member or request.user.is_superuser):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


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
    }
    return render(
        request,
        "realtime/player.html",
        {"live": live, "config": config, "strings": client_strings()},
    )


@never_cache
@require_GET
def nickname(request: HttpRequest) -> JsonResponse:
    """A friendly generated nickname for players who would rather not type one."""
    return JsonResponse({"nickname": generated_nickname()})


# --- host ------------------------------------------------------------------------------


class RoundForm(forms.Form):
    field_order = ["title", "seconds_per_question", "kind", "versions"]

    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    versions = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Questions"),
        queryset=QuestionVersion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Published questions of this bank, played in this order."),
        error_messages={
            "required": gettext_lazy("Choose at least one question."),
            "invalid_choice": gettext_lazy("Choose published questions of this bank only."),
            "invalid_pk_value": gettext_lazy("Choose published questions of this bank only."),
        },
    )
    seconds_per_question = forms.IntegerField(
        label=gettext_lazy("Seconds per question"),
        min_value=MIN_SECONDS,
        max_value=MAX_SECONDS,
        initial=20,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Scoring"),
        # Stage finals need teams and captains: not created from this simple form.
        choices=[(v, label) for v, label in LiveRound.Kind.choices if v in PAGE_KINDS],
        initial=LiveRound.Kind.CLASSIC,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, bank: Bank, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["versions"]
        field.queryset = (
            QuestionVersion.objects.filter(question__bank=bank, status=VersionStatus.PUBLISHED)
            .select_related("question")
            .order_by("question_id")
        )
        field.label_from_instance = self.version_label

    @staticmethod
    def version_label(version: QuestionVersion) -> str:
        stem = Truncator(strip_tags(version.stem)).chars(80)
        return f"#{version.question_id} · {version.get_type_display()} · {stem}"

    def clean_versions(self):
        versions = list(self.cleaned_data["versions"])
        if len(versions) > MAX_QUESTIONS:
            raise ValidationError(
                _("A live round has at most %(n)s questions.") % {"n": MAX_QUESTIONS}
            )
        return versions


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
                )
            except (ValidationError, PermissionDenied) as refused:
                messages = getattr(refused, "messages", None) or [str(refused)]
                form.add_error(None, " ".join(messages))
            else:
                return redirect("realtime:host", live.pin)
    status = 400 if request.method == "POST" and (bank is None or form.errors) else 200
    return render(
        request,
        "realtime/new.html",
        {"banks": banks, "bank": bank, "bank_error": bank_error, "form": form},
        status=status,
    )


def _hosted_round(request: HttpRequest, pin: str) -> LiveRound:
    live = _round_or_404(pin)
    if not play.is_host(live, request.user):
        raise PermissionDenied
    return live


@never_cache
@login_required
@require_GET
def host(request: HttpRequest, pin: str) -> HttpResponse:
    live = _hosted_round(request, pin)
    join_url = _join_url(request, live)
    screen_url = reverse("realtime:screen", args=[live.pin]) + "?key=" + screen_key(live)
    questions = list(live.questions.order_by("position").values_list("position", flat=True))
    config = {
        "role": "host",
        "pin": live.pin,
        "playersUrl": reverse("realtime:host_players", args=[live.pin]),
    }
    return render(
        request,
        "realtime/host.html",
        {
            "live": live,
            "join_url": join_url,
            "qr": _qr_svg(join_url, scale=5),
            "screen_url": screen_url,
            "questions": [n + 1 for n in questions],
            "config": config,
            "strings": client_strings(),
        },
    )


@never_cache
@login_required
@require_GET
def host_players(request: HttpRequest, pin: str) -> JsonResponse:
    """The players of the round, for the console's list (kick buttons)."""
    live = _hosted_round(request, pin)
    players = LivePlayer.objects.filter(round=live, kicked=False).order_by("joined_at")
    return JsonResponse(
        {"players": [{"id": p.pk, "nickname": p.nickname} for p in players], "locked": live.locked}
    )


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
    config = {"role": "screen", "pin": live.pin, "key": key}
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
