"""The live-round pages: who may open them, what they hold, and creating a round.

The pages are shells: the round itself travels over the WebSocket. So the player page
must hold nothing of a question (no key, no explanation, not even the stem), the host
console only opens for the round's host, and the projector page only with its key.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from realtime import services
from realtime.consumers import screen_key
from realtime.models import LivePlayer, LiveQuestion, LiveRound
from realtime.nicknames import clean_nickname
from tests.factories import PASSWORD, UserFactory, adult
from tests.quizzes.factories import BankFactory, QuestionFactory

pytestmark = pytest.mark.django_db

MARK = "QZJ"


def make_round(*, host=None, types=("single", "fill")) -> LiveRound:
    bank = BankFactory(owner=host) if host is not None else BankFactory()
    versions = [
        QuestionFactory(
            bank=bank, type=qtype, stem=f"STEM{n}{MARK}", explanation=f"EXPLAIN{n}{MARK}"
        ).versions.get()
        for n, qtype in enumerate(types)
    ]
    return services.round_create(host=bank.owners.first(), title="校园科学节", versions=versions)


def login(client, user) -> None:
    assert client.login(username=user.username, password=PASSWORD)


def player_url(live):
    return reverse("realtime:play", args=[live.pin])


def host_url(live):
    return reverse("realtime:host", args=[live.pin])


def screen_url(live, key=None):
    url = reverse("realtime:screen", args=[live.pin])
    return url if key is None else f"{url}?key={key}"


# --- entering a PIN ----------------------------------------------------------------------------


def test_a_known_pin_leads_to_its_player_page(client):
    live = make_round()
    response = client.get(reverse("realtime:enter"), {"pin": live.pin})
    assert response.status_code == 302
    assert response["Location"] == player_url(live)


@pytest.mark.parametrize("pin", ["12345", "abcdef", "1234567"])
def test_a_malformed_pin_is_refused_with_a_reason(client, pin):
    response = client.get(reverse("realtime:enter"), {"pin": pin})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert 'role="alert"' in response.content.decode()


def test_an_unknown_pin_is_refused_with_a_reason(client):
    response = client.get(reverse("realtime:enter"), {"pin": "999999"})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_the_pin_page_has_a_big_numeric_input(client):
    html = client.get(reverse("realtime:enter")).content.decode()
    assert 'inputmode="numeric"' in html
    assert 'name="pin"' in html


# --- the player page ---------------------------------------------------------------------------


def test_the_player_page_works_without_a_login_and_holds_nothing_of_the_questions(client):
    live = make_round(types=("single", "multiple", "true_false", "fill", "numeric", "ordering"))
    response = client.get(player_url(live))
    assert response.status_code == 200
    html = response.content.decode()
    assert MARK not in html  # no stem, no explanation
    versions = [q.version for q in LiveQuestion.objects.filter(round=live)]
    for version in versions:
        for option in version.options:
            assert option["id"] not in html
        for accepted in version.key.get("accepted", []):
            assert accepted not in html
    assert '"key":' not in html and '"explanation":' not in html
    assert "live-config" in html and "js/live/player.js" in html
    assert 'aria-live="polite"' in html


def test_a_roster_round_asks_for_the_join_code_instead_of_a_nickname(client):
    bank = BankFactory()
    live = services.round_create(
        host=bank.owners.first(),
        title="班级赛",
        versions=[QuestionFactory(bank=bank).versions.get()],
        join_mode=LiveRound.JoinMode.ROSTER,
    )
    html = client.get(player_url(live), {"roster": "card-123"}).content.decode()
    assert 'name="roster_token"' in html and 'value="card-123"' in html
    assert 'name="nickname"' not in html and "data-suggest" not in html


def test_the_player_page_of_an_unknown_pin_is_not_found(client):
    assert client.get(reverse("realtime:play", args=["999999"])).status_code == 404


def test_a_signed_in_player_finds_their_own_name_filled_in(client):
    user = adult(nickname="小科学家")
    live = make_round()
    login(client, user)
    html = client.get(player_url(live)).content.decode()
    assert 'value="小科学家"' in html


def test_the_name_suggestion_is_a_name_that_may_be_used(client):
    for _n in range(5):
        name = client.get(reverse("realtime:nickname")).json()["nickname"]
        assert clean_nickname(name) == name


# --- the host console -----------------------------------------------------------------------------


def test_the_host_console_opens_for_the_host_with_pin_qr_and_screen_link(client):
    live = make_round()
    login(client, live.host)
    response = client.get(host_url(live))
    assert response.status_code == 200
    html = response.content.decode()
    assert live.pin in html
    assert "<svg" in html  # the join QR, inline
    assert screen_url(live, screen_key(live)).replace("&", "&amp;") in html or (
        screen_url(live, screen_key(live)) in html
    )
    assert "js/live/host.js" in html


def test_the_host_console_is_forbidden_to_anyone_but_the_host(client):
    live = make_round()
    for intruder in (UserFactory(role="organizer"), UserFactory(role="teacher"), adult()):
        client.logout()
        login(client, intruder)
        assert client.get(host_url(live)).status_code == 403
        assert client.get(reverse("realtime:host_players", args=[live.pin])).status_code == 403


def test_the_host_console_sends_visitors_who_are_not_signed_in_to_sign_in(client):
    live = make_round()
    response = client.get(host_url(live))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_host_sees_the_players_who_are_still_in(client):
    live = make_round()
    alice = services.player_join(live=live, nickname="Alice")
    bob = services.player_join(live=live, nickname="Bob")
    LivePlayer.objects.filter(pk=bob.pk).update(kicked=True)
    login(client, live.host)
    data = client.get(reverse("realtime:host_players", args=[live.pin])).json()
    assert data == {"players": [{"id": alice.pk, "nickname": "Alice"}], "locked": False}


# --- the projector screen ------------------------------------------------------------------------


def test_the_screen_opens_with_its_key_and_shows_pin_and_qr_but_no_answers(client):
    live = make_round()
    response = client.get(screen_url(live, screen_key(live)))
    assert response.status_code == 200
    html = response.content.decode()
    assert live.pin in html and "<svg" in html
    assert MARK not in html
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_screen_is_refused_without_a_valid_key(client):
    live = make_round()
    other = make_round()
    for url in (
        screen_url(live),
        screen_url(live, ""),
        screen_url(live, "1:forged"),
        screen_url(live, screen_key(other)),  # another round's key
    ):
        assert client.get(url).status_code == 403, url


# --- creating a round -----------------------------------------------------------------------


@pytest.fixture
def teacher_bank():
    teacher = UserFactory(role="teacher")
    bank = BankFactory(owner=teacher)
    published = [QuestionFactory(bank=bank, stem=f"PUB{n}").versions.get() for n in range(3)]
    draft = QuestionFactory(bank=bank, stem="DRAFTSTEM", publish=False).versions.get()
    return teacher, bank, published, draft


def test_the_new_round_page_is_for_staff_only(client):
    response = client.get(reverse("realtime:new"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for player in (adult(), UserFactory(role="student")):
        client.logout()
        login(client, player)
        assert client.get(reverse("realtime:new")).status_code == 403


def test_the_new_round_page_offers_the_published_questions_of_the_chosen_bank(client, teacher_bank):
    teacher, bank, published, draft = teacher_bank
    elsewhere = QuestionFactory(stem="ELSEWHERE").versions.get()  # someone else's bank
    login(client, teacher)
    html = client.get(reverse("realtime:new"), {"bank": bank.pk}).content.decode()
    for version in published:
        assert f'value="{version.pk}"' in html
    assert "DRAFTSTEM" not in html and f'value="{draft.pk}"' not in html
    assert "ELSEWHERE" not in html
    assert elsewhere.question.bank.name not in html


def test_a_round_is_created_and_the_host_goes_to_its_console(client, teacher_bank):
    teacher, bank, published, _draft = teacher_bank
    login(client, teacher)
    response = client.post(
        reverse("realtime:new"),
        {
            "bank": bank.pk,
            "title": "三年级科学擂台",
            "versions": [published[2].pk, published[0].pk],
            "seconds_per_question": 15,
            "kind": "accuracy",
        },
    )
    live = LiveRound.objects.get()
    assert response.status_code == 302
    assert response["Location"] == host_url(live)
    assert (live.title, live.host, live.kind, live.seconds_per_question) == (
        "三年级科学擂台",
        teacher,
        "accuracy",
        15,
    )
    assert re.fullmatch(r"[1-9][0-9]{5}", live.pin)
    assert [q.version_id for q in live.questions.order_by("position")] == [
        published[0].pk,
        published[2].pk,
    ]
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"versions": []}, "versions"),
        ({"seconds_per_question": 2}, "seconds_per_question"),
        ({"seconds_per_question": 1000}, "seconds_per_question"),
        ({"seconds_per_question": "soon"}, "seconds_per_question"),
        ({"kind": "buzzer-of-doom"}, "kind"),
        ({"kind": "finals"}, "kind"),  # needs teams: not from this page
        ({"versions": ["DRAFT"]}, "versions"),
        ({"versions": ["OTHER"]}, "versions"),
        ({"versions": ["nope"]}, "versions"),
    ],
)
def test_bad_input_creates_nothing_and_says_what_is_wrong(client, teacher_bank, change, field):
    teacher, bank, published, draft = teacher_bank
    other = QuestionFactory(stem="OTHERBANK").versions.get()
    data = {
        "bank": bank.pk,
        "title": "科学擂台",
        "versions": [published[0].pk],
        "seconds_per_question": 20,
        "kind": "classic",
        **change,
    }
    data["versions"] = [{"DRAFT": draft.pk, "OTHER": other.pk}.get(v, v) for v in data["versions"]]
    login(client, teacher)
    response = client.post(reverse("realtime:new"), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert 'class="errorlist' in response.content.decode()
    assert not LiveRound.objects.exists()
    assert not LiveQuestion.objects.exists()


def test_a_bank_the_host_may_not_draw_from_creates_nothing(client, teacher_bank):
    teacher, _bank, _published, _draft = teacher_bank
    foreign = QuestionFactory(stem="FOREIGN").versions.get()
    login(client, teacher)
    response = client.post(
        reverse("realtime:new"),
        {
            "bank": foreign.question.bank_id,
            "title": "科学擂台",
            "versions": [foreign.pk],
            "seconds_per_question": 20,
            "kind": "classic",
        },
    )
    assert response.status_code == 400
    assert response.context["bank_error"]
    assert "FOREIGN" not in response.content.decode()
    assert not LiveRound.objects.exists()


def test_a_bank_shared_with_an_organizer_may_be_drawn_from(client):
    organizer = UserFactory(role="organizer")
    bank = BankFactory()
    bank.shared_with.add(organizer)
    version = QuestionFactory(bank=bank).versions.get()
    login(client, organizer)
    response = client.post(
        reverse("realtime:new"),
        {
            "bank": bank.pk,
            "title": "共享题库",
            "versions": [version.pk],
            "seconds_per_question": 20,
            "kind": "classic",
        },
    )
    assert response.status_code == 302
    assert LiveRound.objects.get().host == organizer


# --- results ---------------------------------------------------------------------------


def test_only_the_host_downloads_the_results_workbook(client):
    from io import BytesIO

    from openpyxl import load_workbook

    from realtime import play

    live = make_round(types=("single",))
    player = services.player_join(live=live, nickname="=HYPERLINK(1)")
    play.round_command(live=live, actor=live.host, name="start")
    version = live.questions.get().version
    assert play.answer_submit(
        player=player, answer_id="a", question_index=0,
        response=version.key["options"][0], received_at=play.now_ms(),
    ).accepted  # fmt: skip
    url = reverse("realtime:host_results", args=[live.pin])

    login(client, UserFactory(role="organizer"))
    assert client.get(url).status_code == 403
    login(client, live.host)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    book = load_workbook(BytesIO(response.content))
    cells = [
        c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row
    ]
    assert "'=HYPERLINK(1)" in cells  # escaped, not a formula
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)
