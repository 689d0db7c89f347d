"""A 1-v-1 PK in Chromium: two phones, two signed-in players, find each other and play
a whole match to the result on a real daphne process. Screenshots go to
$LIVE_SHOTS_DIR/pk-*.png, when it is set, for a person to look at."""

from __future__ import annotations

from quizzes.models import Blueprint
from realtime.models import PkQuestion
from tests.factories import ProfileFactory
from tests.quizzes.factories import BankFactory
from tests.support.options import shown

from .conftest import PHONE, publish_question, sign_in
from .live import LIVE_ROUND_MARKS, save_shot, wait_phase

pytestmark = LIVE_ROUND_MARKS

QUESTIONS = [
    {
        "type": "single",
        "stem": f"第{n}题：地震时在室内应该怎样做？",
        "options": ["立即乘电梯下楼", "伏地、遮挡、手抓牢", "跳窗逃生", "站在窗边观察"],
        "key": "B",
        "explanation": "伏地、遮挡、手抓牢可以保护头颈。",
    }
    if n % 2
    else {
        "type": "true_false",
        "stem": f"第{n}题：声音在真空中不能传播。",
        "options": [],
        "key": "对",
        "explanation": "声音需要介质传播。",
    }
    for n in range(5)
]


def test_two_players_find_each_other_and_play_a_pk_to_the_result(browser, transactional_db):
    from django.db import connection

    from tests.support.daphne import daphne

    bank = BankFactory(name="PK 题库")
    versions = {v.stem: v for v in (publish_question(bank, raw) for raw in QUESTIONS)}
    Blueprint.objects.create(bank=bank, name="PK 练习", open_to_players=True)
    alice = ProfileFactory(nickname="小明同学").user
    bob = ProfileFactory(nickname="科学迷").user

    env = {
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        "PK_READY_MS": "500",
        "PK_REVEAL_MS": "700",
    }
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(connection.settings_dict["NAME"])
    else:
        import os
        from urllib.parse import urlparse

        url = urlparse(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    errors: list[str] = []
    contexts = []
    with daphne(env=env) as base:
        pages = []
        for user in (alice, bob):
            context = browser.new_context(viewport=PHONE, device_scale_factor=1)
            context.set_default_timeout(15_000)
            contexts.append(context)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            sign_in(page, base, user)
            page.goto(base + "/live/pk/")
            pages.append(page)
        first, second = pages
        first.locator("[data-find]").click()
        wait_phase(first, "waiting")
        save_shot(first, "pk-waiting", settle_ms=300, full_page=False)
        second.locator("[data-find]").click()
        for page in pages:
            page.wait_for_selector(
                "[data-live-root][data-phase=ready], [data-live-root][data-phase=question]"
            )
        for n in range(5):
            for page, right in ((first, True), (second, n % 2 == 0)):
                wait_phase(page, "question")
                # A new question: its options are enabled until this player answers.
                page.wait_for_selector("[data-answer-area] [data-option]:not([disabled])")
                stem = page.locator("[data-stem]").inner_text().strip()
                version = versions[next(s for s in versions if s in stem or stem in s)]
                if version.type == "true_false":
                    value = version.key["value"] if right else not version.key["value"]
                    page.locator(f'[data-option="{str(value).lower()}"]').click()
                else:
                    key = version.key["options"][0]
                    option = (
                        key if right else next(o["id"] for o in version.options if o["id"] != key)
                    )
                    # The page shows the match's own option ids, never the version's.
                    question = PkQuestion.objects.select_related("version").get(
                        version=version, match__players__user=alice
                    )
                    page.locator(f'[data-option="{shown(question, option)}"]').click()
                if n == 1 and page is first:
                    save_shot(page, "pk-question", settle_ms=300, full_page=True)
            wait_phase(first, "reveal")
            if n == 1:
                save_shot(first, "pk-reveal", settle_ms=300, full_page=True)
        for page in pages:
            wait_phase(page, "finished")
        assert first.locator("[data-live-root]").get_attribute("data-outcome") == "win"
        assert second.locator("[data-live-root]").get_attribute("data-outcome") == "lose"
        assert "小明同学" in second.locator("[data-final-score]").inner_text()
        save_shot(first, "pk-result", settle_ms=300, full_page=True)
        save_shot(second, "pk-result-loser", settle_ms=300, full_page=True)
        for context in contexts:
            context.close()
    assert not errors, errors
