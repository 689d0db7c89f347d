"""A whole live round in Chromium: a host console, a projector screen and two phones.

The server is a real daphne process (the WebSocket needs one) on this test's database.
Two questions are played to the end: Alice answers right, Bob wrong. Alice's phone is
reloaded mid-round and must come back as Alice with the same score, and a frame with a
gap in `seq` is pushed into Bob's client, which must ask for a snapshot.

With LIVE_SHOTS_DIR set, screenshots go to $LIVE_SHOTS_DIR/live-*.png (phones at
390x844, the screen at 1280x720).
"""

from __future__ import annotations

import re

from realtime.models import LiveAnswer, LivePlayer, LiveRound
from tests.factories import UserFactory
from tests.quizzes.factories import BankFactory
from tests.support.options import shown

from .conftest import PHONE, publish_question, sign_in
from .live import LIVE_ROUND_MARKS, SCREEN, command, save_shot, wait_phase

pytestmark = LIVE_ROUND_MARKS

QUESTIONS = [
    {
        "type": "single",
        "stem": "地震时在室内应该怎样做？",
        "options": ["立即乘电梯下楼", "伏地、遮挡、手抓牢", "跳窗逃生", "站在窗边观察"],
        "key": "B",
        "explanation": "伏地、遮挡、手抓牢可以保护头颈，避免被坠落物砸伤。",
    },
    {
        "type": "true_false",
        "stem": "声音在真空中不能传播。",
        "options": [],
        "key": "对",
        "explanation": "声音需要介质传播，真空中没有介质。",
    },
]


def shot(page, name: str) -> None:
    save_shot(page, f"live-{name}", settle_ms=1000, full_page=name.startswith("player"))


def join(page, base: str, pin: str, nickname: str, *, suggest: bool = False) -> None:
    page.goto(base + "/live/")
    page.locator('input[name="pin"]').fill(pin)
    page.locator(".pin-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/live/{pin}/$"))
    field = page.locator("[data-nickname]")
    if suggest:
        page.locator("[data-suggest]").click()
        page.wait_for_function("document.querySelector('[data-nickname]').value.length > 0")
    field.fill(nickname)
    page.locator("[data-join-form] button[type=submit]").click()
    wait_phase(page, "lobby")


def answer_received(page) -> None:
    page.wait_for_selector("[data-answer-status].is-ok")


def total_text(page) -> str:
    return page.locator("[data-total]").inner_text()


def test_a_full_live_round_with_host_screen_and_two_phones(live_server_process, browser_pages):
    server, pages = live_server_process, browser_pages
    host_user = UserFactory(role="teacher")
    bank = BankFactory(owner=host_user, name="应急科普题库")
    versions = [publish_question(bank, raw) for raw in QUESTIONS]

    # --- the host signs in and creates the round ---------------------------------------------
    host = pages.open(SCREEN)
    sign_in(host, server, host_user)
    host.goto(server + "/live/new/")
    host.locator('input[name="title"]').fill("应急科普擂台")
    for version in versions:
        host.locator(f'input[name="versions"][value="{version.pk}"]').check()
    host.locator('input[name="seconds_per_question"]').fill("30")
    shot(host, "new")
    host.locator(".live-round-form button[type=submit]").click()
    host.wait_for_url(re.compile(r"/live/\d{6}/host/$"))
    pin = host.locator("[data-pin]").inner_text().strip()
    live = LiveRound.objects.get(pin=pin)
    assert live.host == host_user and live.questions.count() == 2
    # The phones show the round's own option ids, never the version's.
    first = live.questions.select_related("version").get(position=0)
    right_version_id = versions[0].key["options"][0]
    wrong_version_id = next(o["id"] for o in versions[0].options if o["id"] != right_version_id)
    right_option, wrong_option = shown(first, right_version_id), shown(first, wrong_version_id)
    host.locator('[data-command="start"]').wait_for(state="visible")

    # --- the projector screen, from the console's link -----------------------------------------
    screen = pages.open(SCREEN)
    screen.goto(server + host.locator("[data-screen-link]").get_attribute("href"))
    wait_phase(screen, "lobby")
    assert screen.locator(".screen-qr svg").is_visible()
    assert screen.locator("[data-pin]").inner_text().strip() == pin

    # --- two phones join -----------------------------------------------------------------------
    alice = pages.open(PHONE)
    join(alice, server, pin, "Alice")
    bob = pages.open(PHONE)
    join(bob, server, pin, "小明", suggest=True)
    # Bob's network drops in the lobby: the client comes back on its own, as Bob.
    bob.evaluate("window.sciarenaLive.dropConnection()")
    bob.wait_for_function(
        "window.sciarenaLive.ws && window.sciarenaLive.ws.readyState === 1"
        " && window.sciarenaLive.lastSeq !== null"
    )
    assert bob.evaluate("window.sciarenaLive.sent.some(m => m.type === 'resume')")
    host.wait_for_function("document.querySelector('[data-player-count]').textContent === '2'")
    screen.wait_for_function("document.querySelector('[data-player-count]').textContent === '2'")
    assert host.locator("[data-players] .player-name").all_inner_texts() == ["Alice", "小明"]
    shot(alice, "player-lobby")
    shot(screen, "screen-lobby")
    shot(host, "host-lobby")

    # --- question 1 (single choice): Alice right, Bob wrong --------------------------------------
    command(host, "start")
    for phone in (alice, bob):
        wait_phase(phone, "question")
        phone.locator(f'[data-option="{right_option}"]').wait_for()
        options = phone.locator("[data-answer-area] .option")
        assert options.count() == 4
        assert options.locator(".option-label").all_inner_texts() == ["A", "B", "C", "D"]
        assert options.locator(".shape").all_inner_texts() == ["▲", "◆", "●", "■"]
    # Each phone shows the options in the order of its own permutation.
    for phone in (alice, bob):
        on_page = phone.locator("[data-answer-area] [data-option]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.option)"
        )
        assert sorted(on_page) == sorted(shown(first, [o["id"] for o in versions[0].options]))
    wait_phase(screen, "question")
    shot(bob, "player-question")
    alice.locator(f'[data-option="{right_option}"]').click()
    bob.locator(f'[data-option="{wrong_option}"]').click()
    answer_received(alice)
    answer_received(bob)
    assert alice.locator("[data-answer-area] .option").first.is_disabled()
    shot(alice, "player-answered")
    host.wait_for_function("document.querySelector('[data-answers]').textContent === '2'")
    shot(screen, "screen-question")
    shot(host, "host-question")
    command(host, "close")
    command(host, "reveal")

    wait_phase(alice, "reveal")
    wait_phase(bob, "reveal")
    assert alice.locator("[data-result]").get_attribute("data-result") == "right"
    assert bob.locator("[data-result]").get_attribute("data-result") == "wrong"
    assert alice.locator("[data-explanation]").is_visible()
    alice_total = total_text(alice)
    assert re.search(r"[1-9]\d*", alice_total), alice_total
    assert re.search(r"\b0\b", total_text(bob))
    shot(alice, "player-reveal-right")
    shot(bob, "player-reveal-wrong")
    wait_phase(screen, "reveal")
    screen.wait_for_selector(".dist-row.is-right")
    assert screen.locator(".dist-row").count() == 4
    shot(screen, "screen-reveal")

    command(host, "leaderboard")
    wait_phase(screen, "leaderboard")
    screen.wait_for_function("document.querySelectorAll('[data-board] .board-row').length === 2")
    assert screen.locator("[data-board] .board-row.is-first .board-name").inner_text() == "Alice"
    shot(screen, "screen-leaderboard")
    wait_phase(alice, "leaderboard")
    shot(alice, "player-leaderboard")

    # --- Alice reloads her phone mid-round: same player, same score ---------------------------
    token = alice.evaluate(f"JSON.parse(localStorage.getItem('sciarena.live.{pin}')).token")
    alice.reload()
    wait_phase(alice, "leaderboard")
    alice.wait_for_function(
        f"document.querySelector('[data-total]').textContent === {alice_total!r}"
    )
    assert alice.evaluate(f"JSON.parse(localStorage.getItem('sciarena.live.{pin}')).token") == token
    assert LivePlayer.objects.filter(round=live).count() == 2

    # --- question 2 (true or false) -----------------------------------------------------------
    command(host, "next")
    wait_phase(alice, "question")
    wait_phase(bob, "question")

    # A frame with a gap in seq reaches Bob's client: it must ask for a snapshot and redraw.
    asked = bob.evaluate(
        """() => {
            const live = window.sciarenaLive;
            const before = live.snapshotRequests;
            live.receive(JSON.stringify({
                type: "paused", seq: live.lastSeq + 3, paused_from: "question_open",
                remaining_ms: 1000,
            }));
            return {before, after: live.snapshotRequests,
                    sent: live.sent[live.sent.length - 1]};
        }"""
    )
    assert asked["after"] == asked["before"] + 1
    assert asked["sent"] == {"type": "snapshot"}
    bob.wait_for_function("window.sciarenaLive.awaitingSnapshot === false")
    assert bob.locator("[data-view=paused]").is_hidden()  # the forged frame was not applied
    wait_phase(bob, "question")

    # Elder mode (from the site header) makes the answer buttons larger, in place.
    bob.locator("form[data-elder-toggle] button").click()
    bob.wait_for_function("document.documentElement.classList.contains('elder')")
    option_px = bob.locator('[data-option="false"]').evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert option_px >= 28, option_px
    shot(bob, "player-question-elder")

    alice.locator('[data-option="true"]').click()
    bob.locator('[data-option="false"]').click()
    answer_received(alice)
    answer_received(bob)
    command(host, "close")
    command(host, "reveal")
    wait_phase(alice, "reveal")
    wait_phase(bob, "reveal")
    assert alice.locator("[data-result]").get_attribute("data-result") == "right"
    assert bob.locator("[data-result]").get_attribute("data-result") == "wrong"
    wait_phase(screen, "reveal")
    screen.wait_for_selector(".dist-row.is-right")
    shot(screen, "screen-reveal-true-false")

    command(host, "finish")
    for phone, rank in ((alice, "1"), (bob, "2")):
        wait_phase(phone, "finished")
        assert rank in phone.locator("[data-view=finished] [data-board-you]").inner_text()
    wait_phase(screen, "finished")
    screen.wait_for_function("document.querySelectorAll('[data-board] .board-row').length === 2")
    assert screen.locator("[data-board] .board-row.is-first .board-name").inner_text() == "Alice"
    shot(alice, "player-finished")
    shot(bob, "player-finished-bob")
    shot(screen, "screen-finished")
    shot(host, "host-finished")

    answers = LiveAnswer.objects.filter(round=live)
    assert answers.count() == 4
    # Stored in the version's ids, whatever the phones showed.
    assert dict(answers.filter(question=first).values_list("player__nickname", "response")) == {
        "Alice": right_version_id,
        "小明": wrong_version_id,
    }
    assert sorted(answers.filter(correct=True).values_list("player__nickname", flat=True)) == [
        "Alice",
        "Alice",
    ]
    assert not pages.errors, pages.errors
