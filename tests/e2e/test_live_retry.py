"""The shipped player page in Chromium, when the server cannot store an answer at once,
and for a player who did not answer.

docs/protocol.md: after `{"type": "error", "code": "retry", "detail": "answer"}` nothing
was stored and the client must send the answer again. Here the socket between Alice's
phone and a real daphne process is routed through the test (Playwright's
route_web_socket): her first two answer messages never reach the server and are answered
`retry`, as when the server's answer batch failed on the database. The page must resend
the same answer (same answer_id) on its own, say meanwhile that it is sending it again,
and end acked with the answer stored once. Bob does not answer: his reveal says "no
answer", not "wrong".
"""

from __future__ import annotations

import json
import re

from realtime.live import services
from realtime.models import LiveAnswer
from tests.factories import UserFactory
from tests.quizzes.factories import BankFactory
from tests.support.options import shown

from .conftest import PHONE, publish_question, sign_in
from .live import LIVE_ROUND_MARKS, SCREEN, command, wait_phase

pytestmark = LIVE_ROUND_MARKS

QUESTION = {
    "type": "single",
    "stem": "发现燃气泄漏时应该怎样做？",
    "options": ["打开电灯查看", "关闭阀门、开窗通风", "打电话报警（在室内）", "点火检查"],
    "key": "B",
    "explanation": "先关阀门、开窗通风，到室外再报警，不要动明火和电器开关。",
}
RETRY = json.dumps({"type": "error", "code": "retry", "detail": "answer"})


def join(page, base: str, pin: str, nickname: str) -> None:
    page.goto(f"{base}/live/{pin}/")
    page.locator("[data-nickname]").fill(nickname)
    page.locator("[data-join-form] button[type=submit]").click()
    wait_phase(page, "lobby")


def strings(page) -> dict:
    """The texts the page shows, as the server translated them for it."""
    return page.evaluate("JSON.parse(document.getElementById('live-strings').textContent)")


def test_an_answer_refused_with_retry_is_resent_by_the_page_and_stored_once(
    live_server_process, browser_pages
):
    server, pages = live_server_process, browser_pages
    host_user = UserFactory(role="teacher")
    version = publish_question(BankFactory(owner=host_user), QUESTION)
    live = services.round_create(
        host=host_user, title="燃气安全", versions=[version], seconds_per_question=60
    )
    question = live.questions.select_related("version").get()
    right = shown(question, version.key["options"][0])

    # Alice's socket goes through the test: her answers are refused with `retry` (and
    # never reach the server) while `refusing` is on; everything else passes through.
    refused: list[dict] = []
    refusing = {"on": True}

    def route(ws) -> None:
        daphne = ws.connect_to_server()

        def from_page(message) -> None:
            data = json.loads(message) if isinstance(message, str) else {}
            if data.get("type") == "answer" and refusing["on"]:
                refused.append(data)
                ws.send(RETRY)
            else:
                daphne.send(message)

        ws.on_message(from_page)

    host = pages.open(SCREEN)
    sign_in(host, server, host_user)
    host.goto(f"{server}/live/{live.pin}/host/")
    alice = pages.open(PHONE)
    alice.route_web_socket(re.compile(r"/ws/live/"), route)
    join(alice, server, live.pin, "Alice")
    bob = pages.open(PHONE)
    join(bob, server, live.pin, "Bob")
    texts = strings(alice)

    command(host, "start")
    wait_phase(alice, "question")
    wait_phase(bob, "question")
    alice.locator(f'[data-option="{right}"]').click()
    # Refused once, resent by the page on its own, refused again: meanwhile the page
    # says so, and keeps the answer locked in (nothing to do for the player).
    alice.wait_for_function("window.sciarenaLive.sent.filter(m => m.type === 'answer').length >= 2")
    status = alice.locator("[data-answer-status]")
    status.wait_for(state="visible")
    assert status.inner_text() == texts["answer_retrying"]
    assert "is-wait" in status.get_attribute("class")
    assert alice.locator(f'[data-option="{right}"]').is_disabled()
    assert not LiveAnswer.objects.exists()  # nothing reached the server

    refusing["on"] = False  # the database is back: the next resend goes through
    alice.wait_for_selector("[data-answer-status].is-ok")
    assert alice.locator("[data-answer-status]").inner_text().startswith("✓")
    sent = alice.evaluate("window.sciarenaLive.sent.filter(m => m.type === 'answer')")
    assert len(refused) >= 2 and len(sent) == len(refused) + 1
    assert {m["answer_id"] for m in sent} == {refused[0]["answer_id"]}  # one answer, resent
    assert {json.dumps(m["choice"]) for m in sent} == {json.dumps(right)}
    stored = LiveAnswer.objects.get()  # stored once
    assert (stored.player.nickname, stored.answer_id) == ("Alice", refused[0]["answer_id"])
    assert (stored.response, stored.correct) == (version.key["options"][0], True)

    command(host, "close")
    command(host, "reveal")
    wait_phase(alice, "reveal")
    wait_phase(bob, "reveal")
    assert alice.locator("[data-result]").get_attribute("data-result") == "right"
    # Bob did not answer: "no answer", not "wrong" (the server sent no `correct`).
    assert bob.locator("[data-result]").get_attribute("data-result") == "none"
    assert bob.locator("[data-result-headline]").inner_text() == texts["no_answer"]
    assert texts["wrong"] not in bob.locator("[data-view=reveal]").inner_text()
    assert bob.locator("[data-gained]").is_hidden()
    # A reload of Bob's phone draws the reveal from a snapshot: still "no answer".
    bob.reload()
    wait_phase(bob, "reveal")
    assert bob.locator("[data-result]").get_attribute("data-result") == "none"
    assert bob.locator("[data-result-headline]").inner_text() == texts["no_answer"]
    assert LiveAnswer.objects.count() == 1
    assert not pages.errors, pages.errors
