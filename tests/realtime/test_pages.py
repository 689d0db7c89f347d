"""The live-round pages: who may open them, what they hold, and creating a round.

The pages are shells: the round itself travels over the WebSocket. So the player page
must hold nothing of a question (no key, no explanation, not even the stem), the host
console only opens for the round's host, and the projector page only with its key.
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from realtime.live import answers, commands, services, state
from realtime.live.nicknames import clean_nickname
from realtime.live.selectors import screen_key, screen_key_valid
from realtime.models import LiveQuestion, LiveRound
from tests.factories import PASSWORD, UserFactory, adult
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.support.options import shown

pytestmark = pytest.mark.django_db

MARK = "QZJ密题"  # not ASCII: a random token (CSRF, PIN) can never contain it


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
    # The screen link with a key for this round. The key is signed with a timestamp, so
    # one made here may differ from the page's by a second: check it, not its text.
    link = re.search(re.escape(screen_url(live) + "?key=") + r'([^"&<\s]+)', html)
    assert link and screen_key_valid(live, link.group(1))
    assert "js/live/host.js" in html
    # The players, their captains and the lock come over the console's socket.
    assert "playersUrl" not in html
    assert client.get(host_url(live) + "players/").status_code == 404


def test_the_host_console_is_forbidden_to_anyone_but_the_host(client):
    live = make_round()
    for intruder in (UserFactory(role="organizer"), UserFactory(role="teacher"), adult()):
        client.logout()
        login(client, intruder)
        assert client.get(host_url(live)).status_code == 403


def test_the_host_console_sends_visitors_who_are_not_signed_in_to_sign_in(client):
    live = make_round()
    response = client.get(host_url(live))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


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


def test_the_screen_without_its_key_says_to_open_it_from_the_host_console(client):
    """Not a bare 403: a page that says where the screen is opened, and nothing of the
    round; the round's host, signed in, goes on to the keyed address."""
    live = make_round()
    other_teacher = UserFactory(role="teacher")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the texts in the source's words
    for visitor in (None, other_teacher):
        if visitor is not None:
            client.force_login(visitor)
        for url in (screen_url(live), screen_url(live, "1:forged")):
            response = client.get(url)
            assert response.status_code == 403, url
            html = response.content.decode()
            assert "Open the projector screen from the host console" in html
            assert reverse("realtime:host", args=[live.pin]) in html
            assert "data-live-root" not in html and screen_key(live) not in html
            assert live.title not in html
    client.force_login(live.host)
    for url in (screen_url(live), screen_url(live, "1:forged")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == screen_url(live, screen_key(live))
        assert client.get(response["Location"]).status_code == 200


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
        ({"kind": "finals", "team_mode": "mean"}, "team_mode"),  # finals: one device per team
        ({"team_mode": "everyone"}, "team_mode"),
        ({"join_mode": "guess"}, "join_mode"),
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

    live = make_round(types=("single",))
    player = services.player_join(live=live, nickname="=HYPERLINK(1)")
    commands.round_command(live=live, actor=live.host, name="start")
    question = live.questions.get()
    assert answers.answer_submit(
        player=player, answer_id="a", question_index=0,
        response=shown(question, question.version.key["options"][0]), received_at=state.now_ms(),
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


# --- new rounds: kinds, teams and joining ---------------------------------------------------


def test_the_new_round_page_offers_every_kind_team_mode_and_join_mode(client, teacher_bank):
    teacher, bank, _published, _draft = teacher_bank
    login(client, teacher)
    html = client.get(reverse("realtime:new"), {"bank": bank.pk}).content.decode()
    for name, value in [
        ("kind", "classic"),
        ("kind", "accuracy"),
        ("kind", "finals"),
        ("team_mode", ""),
        ("team_mode", "mean"),
        ("team_mode", "device"),
        ("join_mode", "open"),
        ("join_mode", "roster"),
    ]:
        assert re.search(rf'name="{name}" value="{value}"', html), (name, value)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"kind": "finals"}, ("finals", "device", "open")),
        ({"kind": "finals", "team_mode": "device"}, ("finals", "device", "open")),
        (
            {"kind": "classic", "team_mode": "mean", "join_mode": "roster"},
            ("classic", "mean", "roster"),
        ),
        ({"kind": "accuracy", "team_mode": "device"}, ("accuracy", "device", "open")),
        ({"kind": "classic", "team_mode": ""}, ("classic", "", "open")),
    ],
)
def test_a_round_is_created_with_the_kind_teams_and_joining_chosen(
    client, teacher_bank, choice, expected
):
    teacher, bank, published, _draft = teacher_bank
    login(client, teacher)
    response = client.post(
        reverse("realtime:new"),
        {
            "bank": bank.pk,
            "title": "决赛",
            "versions": [published[0].pk],
            "seconds_per_question": 20,
            **choice,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    live = LiveRound.objects.get()
    assert (live.kind, live.team_mode, live.join_mode) == expected


# --- the lobby setup on the host console ------------------------------------------------------


def team_round(
    *, kind="finals", team_mode="", join_mode="open", types=("single", "single", "single")
):
    bank = BankFactory()
    versions = [
        QuestionFactory(bank=bank, type=qtype, stem=f"STEM{n}{MARK}").versions.get()
        for n, qtype in enumerate(types)
    ]
    return services.round_create(
        host=bank.owners.first(),
        title="科学擂台决赛",
        versions=versions,
        kind=kind,
        team_mode=team_mode,
        join_mode=join_mode,
    )


def setup_url(live, name):
    return reverse(f"realtime:host_{name}", args=[live.pin])


def turns_data(live, **rows):
    """Every question's row; `rows` overrides some: {"0": ("compulsory", team, 10)}."""
    data = {}
    for q in live.questions.order_by("position"):
        turn, team, value = rows.get(str(q.position), ("all", None, 10))
        data[f"turn_{q.position}"] = turn
        data[f"team_{q.position}"] = "" if team is None else str(team.pk)
        data[f"value_{q.position}"] = str(value)
    return data


def turns_of(live):
    return list(live.questions.order_by("position").values_list("turn", "team_id", "value"))


def test_the_host_console_of_a_final_shows_the_setup_in_the_lobby_only(client):
    from tests.factories import SchoolFactory

    live = team_round()
    SchoolFactory(name="海淀实验中学")
    login(client, live.host)
    html = client.get(host_url(live)).content.decode()
    assert 'id="live-setup"' in html
    assert setup_url(live, "team_add") in html and setup_url(live, "turns") in html
    assert setup_url(live, "roster") not in html  # an open round has no roster
    for position in range(3):
        assert f'name="turn_{position}"' in html
    assert 'name="school"' in html and "<optgroup" in html and "海淀实验中学" in html

    services.team_create(live=live, actor=live.host, name="甲队")
    commands.round_command(live=live, actor=live.host, name="start")
    html = client.get(host_url(live)).content.decode()
    assert 'id="live-setup"' not in html
    assert 'name="turn_0"' not in html


def test_an_individual_open_round_has_no_setup_section(client):
    live = make_round()
    login(client, live.host)
    html = client.get(host_url(live)).content.decode()
    assert 'id="live-setup"' not in html
    assert client.post(setup_url(live, "team_add"), {"name": "甲队"}).status_code == 404
    assert client.post(setup_url(live, "turns"), {}).status_code == 404
    assert client.post(setup_url(live, "roster"), {}).status_code == 404


def test_the_host_adds_a_team_with_a_school(client):
    from tests.factories import SchoolFactory

    live = team_round()
    school = SchoolFactory(name="海淀实验中学")
    login(client, live.host)
    response = client.post(setup_url(live, "team_add"), {"name": "  甲队  ", "school": school.pk})
    assert response.status_code == 302
    assert response["Location"] == host_url(live) + "#live-setup"
    team = live.teams.get()
    assert (team.name, team.school) == ("甲队", school)
    html = client.get(response["Location"]).content.decode()
    assert "甲队" in html and "海淀实验中学" in html
    assert 'class="message message-success"' in html  # the notice, once, after the redirect


def test_htmx_gets_the_setup_section_back_in_place(client):
    live = team_round()
    login(client, live.host)
    response = client.post(setup_url(live, "team_add"), {"name": "乙队"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="live-setup"' in html
    assert "<html" not in html  # the section only
    assert "乙队" in html and "data-setup-notice" in html
    refused = client.post(setup_url(live, "team_add"), {"name": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200  # htmx swaps only successful responses
    assert 'class="errorlist' in refused.content.decode()
    assert live.teams.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 61},
        {"name": "甲队", "school": "999999"},
        {"name": "甲队", "school": "not-a-school"},
        {"name": "老队"},  # the name is taken
    ],
)
def test_a_bad_team_is_refused_and_changes_nothing(client, data):
    live = team_round()
    services.team_create(live=live, actor=live.host, name="老队")
    login(client, live.host)
    response = client.post(setup_url(live, "team_add"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist' in html and 'role="alert"' in html
    assert list(live.teams.values_list("name", flat=True)) == ["老队"]


def test_the_host_sets_the_turns_of_the_final(client):
    live = team_round()
    a = services.team_create(live=live, actor=live.host, name="甲队")
    b = services.team_create(live=live, actor=live.host, name="乙队")
    login(client, live.host)
    data = turns_data(
        live, **{"0": ("compulsory", a, 20), "1": ("buzzer", b, 15), "2": ("risk", b, 10)}
    )
    response = client.post(setup_url(live, "turns"), data)
    assert response.status_code == 302
    # A buzzer question names no team, whatever the form said.
    assert turns_of(live) == [("compulsory", a.pk, 20), ("buzzer", None, 15), ("risk", b.pk, 10)]
    html = client.get(host_url(live)).content.decode()
    assert re.search(r'name="turn_2"[^>]*>.*?<option value="risk" selected', html, re.S)


@pytest.mark.parametrize(
    "bad",
    [
        {"1": ("compulsory", None, 10)},  # a compulsory question names its team
        {"1": ("risk", None, 10)},
        {"1": ("all", None, 0)},
        {"1": ("all", None, 101)},
        {"1": ("sudden-death", None, 10)},
        {"1": ("compulsory", "OTHER", 10)},  # a team of another round
    ],
)
def test_bad_turns_are_refused_whole_and_change_nothing(client, bad):
    live = team_round()
    a = services.team_create(live=live, actor=live.host, name="甲队")
    other = team_round()
    elsewhere = services.team_create(live=other, actor=other.host, name="外队")
    turn, team, value = bad["1"]
    rows = {"0": ("compulsory", a, 30), "1": (turn, elsewhere if team == "OTHER" else team, value)}
    login(client, live.host)
    before = turns_of(live)
    response = client.post(setup_url(live, "turns"), turns_data(live, **rows))
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert turns_of(live) == before  # question 0 is not changed either


def test_setup_is_for_the_host_only(client):
    live = team_round(join_mode="roster")
    services.team_create(live=live, actor=live.host, name="甲队")
    before = turns_of(live)
    posts = [
        (setup_url(live, "team_add"), {"name": "入侵队"}),
        (setup_url(live, "turns"), turns_data(live, **{"0": ("buzzer", None, 50)})),
        (setup_url(live, "roster"), {"file": SimpleUploadedFile("r.csv", b"a")}),
    ]
    for url, data in posts:
        response = client.post(url, data)  # not signed in
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for intruder in (UserFactory(role="organizer"), UserFactory(role="teacher"), adult()):
        login(client, intruder)
        for url, data in posts:
            if "file" in data:
                data = {"file": SimpleUploadedFile("r.csv", b"a")}
            assert client.post(url, data).status_code == 403
        assert client.get(setup_url(live, "slips")).status_code == 403
        client.logout()
    assert list(live.teams.values_list("name", flat=True)) == ["甲队"]
    assert turns_of(live) == before
    assert not live.roster.exists()


def test_setup_is_refused_once_the_round_has_started(client):
    live = team_round(join_mode="roster")
    a = services.team_create(live=live, actor=live.host, name="甲队")
    commands.round_command(live=live, actor=live.host, name="start")
    login(client, live.host)
    before = turns_of(live)
    for url, data in [
        (setup_url(live, "team_add"), {"name": "迟到队"}),
        (setup_url(live, "turns"), turns_data(live, **{"1": ("compulsory", a, 10)})),
        (
            setup_url(live, "roster"),
            {"file": SimpleUploadedFile("r.csv", "姓名,学校,队伍\n王,X,甲队".encode())},
        ),
    ]:
        response = client.post(url, data)
        assert response.status_code == 400, url
        html = response.content.decode()
        assert "data-setup-error" in html
        assert 'name="turn_0"' not in html  # no forms once the round has started
    assert list(live.teams.values_list("name", flat=True)) == ["甲队"]
    assert turns_of(live) == before
    assert not live.roster.exists()


# --- rosters and join slips -----------------------------------------------------------------


def roster_csv(rows) -> SimpleUploadedFile:
    data = "\n".join(",".join(row) for row in rows).encode("utf-8")
    return SimpleUploadedFile("名单.csv", data, content_type="text/csv")


def test_a_roster_file_is_imported_and_the_slips_are_printed(client):
    from tests.factories import SchoolFactory

    live = team_round(kind="classic", team_mode="mean", join_mode="roster")
    SchoolFactory(name="海淀实验中学")
    SchoolFactory(name="西城第二中学")
    login(client, live.host)
    response = client.post(
        setup_url(live, "roster"),
        {
            "file": roster_csv(
                [
                    ["姓名", "学校", "队伍"],
                    ["王小明", "海淀实验中学", "甲队"],
                    ["李华", "西城第二中学", "乙队"],
                ]
            )
        },
    )
    assert response.status_code == 302
    entries = list(live.roster.select_related("team", "school").order_by("name"))
    assert [(e.name, e.team.name) for e in entries] == [("李华", "乙队"), ("王小明", "甲队")]
    html = client.get(host_url(live)).content.decode()
    assert setup_url(live, "slips") in html

    response = client.get(setup_url(live, "slips"))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert html.count('class="slip"') == 2
    assert html.count("<svg") >= 2  # one QR code per slip, inline
    for entry in entries:
        url = f"http://testserver{player_url(live)}?roster={entry.token}"
        assert f'data-url="{url}"' in html
        assert entry.token in html and entry.name in html and entry.school.name in html
        assert entry.team.name in html
    assert live.pin in html
    assert "js/live/slips.js" in html and "css/live.css" in html


def test_a_roster_with_problems_is_refused_whole_and_they_are_shown_by_row_and_column(client):
    from tests.factories import SchoolFactory

    live = team_round(kind="classic", join_mode="roster")
    SchoolFactory(name="海淀实验中学")
    login(client, live.host)
    response = client.post(
        setup_url(live, "roster"),
        {
            "file": roster_csv(
                [
                    ["姓名", "学校"],
                    ["王小明", "海淀实验中学"],
                    ["李华", "火星小学"],
                    ["", "海淀实验中学"],
                ]
            )
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "data-roster-report" in html
    assert 'data-row="3" data-column="B"' in html and "火星小学" in html
    assert 'data-row="4" data-column="A"' in html
    assert not live.roster.exists()  # not even 王小明


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("名单.txt", "姓名,学校\n王,X".encode()),
        SimpleUploadedFile("名单.xlsx", b"not a workbook"),
        SimpleUploadedFile("名单.csv", b""),
    ],
)
def test_a_roster_file_that_cannot_be_read_is_refused(client, upload):
    live = team_round(kind="classic", join_mode="roster")
    login(client, live.host)
    response = client.post(setup_url(live, "roster"), {"file": upload})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode() or "data-roster-report" in (
        response.content.decode()
    )
    assert not live.roster.exists()


def test_the_slips_page_is_for_the_host_only(client):
    live = team_round(kind="classic", join_mode="roster")
    response = client.get(setup_url(live, "slips"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    login(client, UserFactory(role="teacher"))
    assert client.get(setup_url(live, "slips")).status_code == 403
    login(client, live.host)
    html = client.get(setup_url(live, "slips")).content.decode()
    assert 'class="slip"' not in html and 'class="notice"' in html


# --- teams for players ------------------------------------------------------------------------


def test_the_teams_of_a_round_are_listed_for_the_join_form_without_questions(client):
    from tests.factories import SchoolFactory

    live = team_round()
    school = SchoolFactory(name="朝阳中学")
    a = services.team_create(live=live, actor=live.host, name="甲队", school=school)
    b = services.team_create(live=live, actor=live.host, name="乙队")
    services.question_turn_set(live=live, actor=live.host, position=1, turn="risk", team=b)
    services.player_join(live=live, nickname="队长", team=a)
    data = client.get(reverse("realtime:teams", args=[live.pin])).json()
    # Names and member counts: what a player needs to choose; never the schools.
    assert data["teams"] == [
        {"id": a.pk, "name": "甲队", "members": 1},
        {"id": b.pk, "name": "乙队", "members": 0},
    ]
    assert data["turns"][1] == {"index": 1, "turn": "risk", "team": b.pk, "value": 10}
    assert MARK not in json.dumps(data, ensure_ascii=False)
    html = client.get(player_url(live)).content.decode()
    assert "data-team-choice" in html and '"甲队"' in html.replace("\\u7532\\u961f", "甲队")
    assert "data-buzz" in html and "data-stake-panel" in html


SCHOOL = "朝阳中学"


def shows_school(response) -> bool:
    """The school's name in a page or JSON, as text or as JSON's \\u escapes."""
    text = response.content.decode()
    return SCHOOL in text or json.dumps(SCHOOL).strip('"') in text


def test_the_schools_of_the_teams_are_for_the_host_and_the_keyed_screen_only(client):
    from realtime.live.selectors import screen_key
    from tests.factories import SchoolFactory, adult

    live = team_round()
    services.team_create(live=live, actor=live.host, name="甲队", school=SchoolFactory(name=SCHOOL))
    services.player_join(live=live, nickname="队长", team=live.teams.get())
    teams_url = reverse("realtime:teams", args=[live.pin])
    for visitor in (None, adult()):  # anyone with the PIN, signed in or not
        if visitor is not None:
            client.force_login(visitor)
        assert not shows_school(client.get(teams_url))
        assert not shows_school(client.get(player_url(live)))
    client.force_login(live.host)
    assert shows_school(client.get(reverse("realtime:host", args=[live.pin])))
    screen = reverse("realtime:screen", args=[live.pin]) + "?key=" + screen_key(live)
    assert shows_school(client.get(screen))


def test_a_roster_slip_tells_its_player_their_team(client):
    from tests.factories import SchoolFactory

    live = team_round(kind="classic", team_mode="device", join_mode="roster")
    SchoolFactory(name="海淀实验中学")
    entries, report = services.roster_import(
        live=live,
        actor=live.host,
        data="姓名,学校,队伍\n王小明,海淀实验中学,甲队".encode(),
        filename="r.csv",
    )
    assert report.ok
    url = reverse("realtime:teams", args=[live.pin])
    assert client.get(url, {"roster": entries[0].token}).json()["mine"]["name"] == "甲队"
    assert "mine" not in client.get(url, {"roster": "forged"}).json()
    html = client.get(player_url(live), {"roster": entries[0].token}).content.decode()
    assert "data-team-choice" not in html  # the slip names the team: nothing to choose
