"""A short stage final in Chromium: the host sets it up on the console, two team captains
(and a team member) play on phones, the projector screen follows.

Three questions: a compulsory question for 甲队 (answered right: +10), a buzzer question
that 乙队's captain buzzes first and answers right (+10), and a risk question for 乙队,
who stakes 20 between the questions and answers right (+20). Every team starts at 100,
so the screen's final leaderboard reads 乙队 130, 甲队 110.

With LIVE_SHOTS_DIR set, screenshots go to $LIVE_SHOTS_DIR/finals-*.png (phones at
390x844, the screen at 1280x720).
"""

from __future__ import annotations

import re

from realtime.models import LiveAnswer, LiveBuzz, LiveRound, LiveStake
from tests.factories import SchoolFactory, UserFactory
from tests.quizzes.factories import BankFactory
from tests.support.options import shown

from .conftest import PHONE, publish_question, sign_in
from .live import LIVE_ROUND_MARKS, SCREEN, command, save_shot, wait_phase

pytestmark = LIVE_ROUND_MARKS

QUESTIONS = [
    {
        "type": "single",
        "stem": "发生火灾时，下列做法正确的是？",
        "options": ["乘电梯逃生", "湿毛巾捂住口鼻，弯腰撤离", "躲进衣柜", "开窗跳楼"],
        "key": "B",
        "explanation": "烟气向上聚集，弯腰低姿并捂住口鼻可减少吸入有毒烟气。",
    },
    {
        "type": "single",
        "stem": "人体最大的器官是？",
        "options": ["肝脏", "皮肤", "大脑", "肺"],
        "key": "B",
        "explanation": "皮肤是人体面积最大的器官。",
    },
    {
        "type": "single",
        "stem": "光在真空中的传播速度约为？",
        "options": ["3×10⁵ 千米/秒", "340 米/秒", "3×10⁸ 千米/秒", "1500 米/秒"],
        "key": "A",
        "explanation": "光速约为每秒 30 万千米。",
    },
]


def shot(page, name: str) -> None:
    save_shot(page, f"finals-{name}", settle_ms=900, full_page=name.startswith(("phone", "host")))


def join_team(page, base: str, pin: str, nickname: str, team: str) -> None:
    page.goto(f"{base}/live/{pin}/")
    page.locator("[data-nickname]").fill(nickname)
    page.locator("[data-team-options] label", has_text=team).click()
    page.locator("[data-join-form] button[type=submit]").click()
    wait_phase(page, "lobby")


def right_and_wrong(live, index: int) -> tuple[str, str]:
    """A right and a wrong option of question `index`, as the round's pages show them."""
    question = live.questions.select_related("version").get(position=index)
    right = question.version.key["options"][0]
    wrong = next(o["id"] for o in question.version.options if o["id"] != right)
    return shown(question, right), shown(question, wrong)


def board(page) -> list[tuple[str, str]]:
    """The screen's leaderboard, top to bottom: (name, points)."""
    rows = page.locator("[data-board] .board-row").evaluate_all(
        """rows => rows
            .map(r => [r.getBoundingClientRect().top, r.querySelector('.board-name').textContent,
                       r.querySelector('.board-points').textContent])
            .sort((a, b) => a[0] - b[0])
            .map(r => [r[1], r[2]])"""
    )
    return [(name, re.sub(r"\D", "", points)) for name, points in rows]


def test_a_short_final_with_compulsory_buzzer_and_risk_questions(
    live_server_process, browser_pages
):
    server, pages = live_server_process, browser_pages
    host_user = UserFactory(role="teacher")
    bank = BankFactory(owner=host_user, name="决赛题库")
    versions = [publish_question(bank, raw) for raw in QUESTIONS]
    school = SchoolFactory(name="海淀实验中学")

    # --- the host creates a final ------------------------------------------------------------
    host = pages.open(SCREEN)
    sign_in(host, server, host_user)
    host.goto(server + "/live/new/")
    host.locator('input[name="title"]').fill("科学擂台决赛")
    for version in versions:
        host.locator(f'input[name="versions"][value="{version.pk}"]').check()
    host.locator('input[name="seconds_per_question"]').fill("90")
    host.locator('input[name="kind"][value="finals"]').check()
    shot(host, "host-new")
    host.locator(".live-round-form button[type=submit]").click()
    host.wait_for_url(re.compile(r"/live/\d{6}/host/$"))
    pin = host.locator("[data-pin]").inner_text().strip()
    live = LiveRound.objects.get(pin=pin)
    assert (live.kind, live.team_mode) == ("finals", "device")

    # --- the lobby setup: two teams, then the turns (htmx swaps the section in place) --------
    setup = host.locator("#live-setup")
    setup.locator('input[name="name"]').fill("甲队")
    setup.locator('select[name="school"]').select_option(str(school.pk))
    setup.locator(".setup-team-form button[type=submit]").click()
    host.wait_for_selector("[data-setup-teams] li:has-text('甲队')")
    host.locator('#live-setup input[name="name"]').fill("乙队")
    host.locator("#live-setup .setup-team-form button[type=submit]").click()
    host.wait_for_selector("[data-setup-teams] li:has-text('乙队')")
    teams = {team.name: team for team in live.teams.all()}
    assert teams["甲队"].school == school
    # The page was not reloaded: the console's socket is the same.
    assert host.evaluate("window.sciarenaLive.sent.filter(m => m.type === 'host').length") == 1

    plan = [("compulsory", "甲队"), ("buzzer", ""), ("risk", "乙队")]
    for position, (turn, team) in enumerate(plan):
        host.locator(f'#live-setup select[name="turn_{position}"]').select_option(turn)
        if team:
            host.locator(f'#live-setup select[name="team_{position}"]').select_option(
                str(teams[team].pk)
            )
    host.locator("[data-setup-turns] button[type=submit]").click()
    host.wait_for_selector("[data-setup-notice='turns']")
    assert list(live.questions.order_by("position").values_list("turn", "team_id")) == [
        ("compulsory", teams["甲队"].pk),
        ("buzzer", None),
        ("risk", teams["乙队"].pk),
    ]
    host.locator("[data-standings] li").nth(1).wait_for()
    shot(host, "host-setup")

    # --- the projector screen ------------------------------------------------------------------
    screen = pages.open(SCREEN)
    screen.goto(server + host.locator("[data-screen-link]").get_attribute("href"))
    wait_phase(screen, "lobby")

    # --- the captains (the first to join each team) and one more member of 甲队 ---------------
    captain_a = pages.open(PHONE)
    captain_a.goto(f"{server}/live/{pin}/")
    assert captain_a.locator("[data-team-options] label").count() == 2
    captain_a.locator("[data-nickname]").fill("甲队队长")
    captain_a.locator("[data-join-form] button[type=submit]").click()  # no team chosen yet
    captain_a.wait_for_selector("[data-join-error]:not([hidden])")
    shot(captain_a, "phone-join")
    captain_a.locator("[data-team-options] label", has_text="甲队").click()
    captain_a.locator("[data-join-form] button[type=submit]").click()
    wait_phase(captain_a, "lobby")
    captain_b = pages.open(PHONE)
    join_team(captain_b, server, pin, "乙队队长", "乙队")
    member_a = pages.open(PHONE)
    join_team(member_a, server, pin, "甲队队员", "甲队")
    for phone, team in ((captain_a, "甲队"), (captain_b, "乙队"), (member_a, "甲队")):
        phone.wait_for_function(
            f"document.querySelector('[data-lobby-team]').textContent.includes({team!r})"
        )
    captain_a.wait_for_selector("[data-captain-note]:not([hidden])")
    member_a.wait_for_selector("[data-captain-note]:not([hidden])")
    assert "甲队" in captain_a.locator("[data-team-name]").inner_text()
    host.wait_for_function("document.querySelectorAll('[data-players] .player-item').length === 3")
    host.wait_for_selector("[data-players] [data-team] .captain-badge")
    screen.wait_for_function("document.querySelector('[data-player-count]').textContent === '3'")
    shot(captain_a, "phone-lobby-captain")
    shot(member_a, "phone-lobby-member")
    shot(screen, "screen-lobby")
    shot(host, "host-lobby")

    # --- question 1: compulsory, 甲队 answers (right: +10) -------------------------------------
    command(host, "start")
    host.wait_for_selector("#live-setup", state="detached")
    for phone in (captain_a, captain_b, member_a):
        wait_phase(phone, "question")
    right, _wrong = right_and_wrong(live, 0)
    captain_a.locator(f'[data-option="{right}"]').wait_for()
    assert captain_b.locator("[data-answer-area]").is_hidden()
    assert "甲队" in captain_b.locator("[data-wait-note]").inner_text()
    assert member_a.locator("[data-answer-area]").is_hidden()
    assert member_a.locator("[data-wait-note]").is_visible()
    assert "甲队" in screen.locator("[data-turn]").inner_text()
    shot(captain_b, "phone-compulsory-other-team")
    shot(member_a, "phone-compulsory-member")
    captain_a.locator(f'[data-option="{right}"]').click()
    captain_a.wait_for_selector("[data-answer-status].is-ok")
    shot(captain_a, "phone-compulsory-answered")
    wait_phase(screen, "question")
    shot(screen, "screen-compulsory")
    command(host, "close")
    command(host, "reveal")
    wait_phase(captain_a, "reveal")
    assert captain_a.locator("[data-result]").get_attribute("data-result") == "right"
    member_a.wait_for_selector("[data-result][data-result='right']")
    wait_phase(captain_b, "reveal")
    shot(captain_b, "phone-reveal-other-team")
    command(host, "leaderboard")
    wait_phase(screen, "leaderboard")
    screen.wait_for_function("document.querySelectorAll('[data-board] .board-row').length === 2")
    assert board(screen) == [("甲队", "110"), ("乙队", "100")]

    # --- question 2: buzzer; 乙队 buzzes first and answers right (+10) -------------------------
    command(host, "next")
    for phone in (captain_a, captain_b, member_a):
        wait_phase(phone, "question")
    captain_b.locator("[data-buzz]").wait_for(state="visible")
    captain_a.locator("[data-buzz]").wait_for(state="visible")
    assert member_a.locator("[data-buzz-area]").is_hidden()
    assert captain_b.locator("[data-answer-area]").is_hidden()
    shot(captain_b, "phone-buzzer-open")
    wait_phase(screen, "question")
    captain_b.locator("[data-buzz]").click()
    captain_b.wait_for_selector("[data-buzz-status].is-mine")
    right, _wrong = right_and_wrong(live, 1)
    captain_b.locator(f'[data-option="{right}"]').wait_for(state="visible")
    captain_a.wait_for_function(
        "document.querySelector('[data-buzz-status]').textContent.includes('乙队')"
    )
    assert captain_a.locator("[data-buzz-area]").is_hidden()
    assert captain_a.locator("[data-answer-area]").is_hidden()
    screen.wait_for_selector("[data-buzz].is-lead")
    assert "乙队" in screen.locator("[data-buzz]").inner_text()
    shot(captain_b, "phone-buzzer-won")
    shot(captain_a, "phone-buzzer-lost")
    shot(screen, "screen-buzzer")
    captain_b.locator(f'[data-option="{right}"]').click()
    captain_b.wait_for_selector("[data-answer-status].is-ok")
    command(host, "close")
    command(host, "reveal")
    wait_phase(captain_b, "reveal")
    assert captain_b.locator("[data-result]").get_attribute("data-result") == "right"

    # --- between the questions: 乙队's captain stakes 20 on the risk question -----------------
    captain_b.locator("[data-stake-panel]").wait_for(state="visible")
    assert captain_a.locator("[data-stake-panel]").is_hidden()
    assert member_a.locator("[data-stake-panel]").is_hidden()
    captain_b.locator('[data-stake="20"]').click()
    captain_b.wait_for_selector("[data-stake-panel][data-staked='20']")
    assert captain_b.locator('[data-stake="30"]').is_disabled()
    screen.wait_for_selector("[data-stake-note]:not([hidden])")
    assert "乙队" in screen.locator("[data-stake-note]").inner_text()
    shot(captain_b, "phone-stake")
    command(host, "leaderboard")
    wait_phase(screen, "leaderboard")
    screen.wait_for_function(
        "document.querySelector('[data-board] .board-row.is-first .board-points')"
        ".textContent.startsWith('110')"
    )
    assert sorted(board(screen)) == [("乙队", "110"), ("甲队", "110")]
    shot(screen, "screen-leaderboard-stake")

    # --- question 3: risk, 乙队 for its stake of 20 (right: +20) -------------------------------
    command(host, "next")
    for phone in (captain_a, captain_b):
        wait_phase(phone, "question")
    assert "20" in captain_b.locator("[data-turn]").inner_text()
    assert captain_a.locator("[data-answer-area]").is_hidden()
    assert captain_b.locator("[data-stake-panel]").is_hidden()
    wait_phase(screen, "question")
    assert "20" in screen.locator("[data-turn]").inner_text()
    right, _wrong = right_and_wrong(live, 2)
    shot(captain_b, "phone-risk")
    shot(screen, "screen-risk")
    captain_b.locator(f'[data-option="{right}"]').click()
    captain_b.wait_for_selector("[data-answer-status].is-ok")
    command(host, "close")
    command(host, "reveal")
    wait_phase(captain_b, "reveal")
    assert "20" in captain_b.locator("[data-gained]").inner_text()
    shot(captain_b, "phone-risk-reveal")

    command(host, "finish")
    wait_phase(screen, "finished")
    screen.wait_for_function("document.querySelectorAll('[data-board] .board-row').length === 2")
    screen.wait_for_function(
        "document.querySelector('[data-board] .board-row.is-first .board-name').textContent"
        " === '乙队'"
    )
    assert board(screen) == [("乙队", "130"), ("甲队", "110")]
    for phone in (captain_a, captain_b, member_a):
        wait_phase(phone, "finished")
    assert "130" in captain_b.locator("[data-view=finished] [data-board-you]").inner_text()
    assert "110" in member_a.locator("[data-view=finished] [data-board-you]").inner_text()
    host.wait_for_function("document.querySelector('[data-standings] li .board-name')")
    assert "乙队" in host.locator("[data-standings] li").first.inner_text()
    shot(screen, "screen-finished")
    shot(captain_b, "phone-finished")
    shot(member_a, "phone-finished-member")
    shot(host, "host-finished")

    # What the server recorded: one buzz, one stake, three captains' answers.
    assert list(LiveBuzz.objects.values_list("team__name", flat=True)) == ["乙队"]
    assert list(LiveStake.objects.values_list("team__name", "stake")) == [("乙队", 20)]
    answers = LiveAnswer.objects.filter(round=live).order_by("question__position")
    assert [(a.player.nickname, a.correct) for a in answers] == [
        ("甲队队长", True),
        ("乙队队长", True),
        ("乙队队长", True),
    ]
    assert not pages.errors, pages.errors


def test_a_roster_is_imported_on_the_console_and_its_slips_print_eight_to_a_page(
    live_server_process, browser_pages
):
    server, pages = live_server_process, browser_pages
    host_user = UserFactory(role="teacher")
    bank = BankFactory(owner=host_user, name="班级赛题库")
    versions = [publish_question(bank, QUESTIONS[0])]
    SchoolFactory(name="海淀实验中学")
    SchoolFactory(name="西城第二中学")

    host = pages.open(SCREEN)
    sign_in(host, server, host_user)
    host.goto(server + "/live/new/")
    host.locator('input[name="title"]').fill("班级团体赛")
    host.locator(f'input[name="versions"][value="{versions[0].pk}"]').check()
    host.locator('input[name="team_mode"][value="mean"]').check()
    host.locator('input[name="join_mode"][value="roster"]').check()
    host.locator(".live-round-form button[type=submit]").click()
    host.wait_for_url(re.compile(r"/live/\d{6}/host/$"))
    pin = host.locator("[data-pin]").inner_text().strip()
    live = LiveRound.objects.get(pin=pin)

    # A file with a problem: refused whole, the problem shown by row and column.
    bad = "姓名,学校,队伍\n王小明,海淀实验中学,甲队\n李华,火星小学,乙队\n"
    host.locator("#setup-roster-file").set_input_files(
        {"name": "名单.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    host.locator("[data-setup-roster] button[type=submit]").click()
    host.wait_for_selector("[data-roster-report] tr[data-row='3'][data-column='B']")
    assert not live.roster.exists() and not live.teams.exists()
    shot(host, "host-roster-refused")

    schools = ("海淀实验中学", "西城第二中学")
    students = [(f"学生{n:02d}", schools[n % 2], "甲乙"[n % 2] + "队") for n in range(10)]
    good = "姓名,学校,队伍\n" + "\n".join(",".join(row) for row in students) + "\n"
    host.locator("#setup-roster-file").set_input_files(
        {"name": "名单.csv", "mimeType": "text/csv", "buffer": good.encode()}
    )
    host.locator("[data-setup-roster] button[type=submit]").click()
    host.wait_for_selector("[data-setup-notice='roster']")
    assert live.roster.count() == 10
    assert sorted(live.teams.values_list("name", flat=True)) == ["乙队", "甲队"]
    assert host.locator("[data-roster-report]").count() == 0
    shot(host, "host-roster-imported")

    slips = pages.open({"width": 1280, "height": 900})
    sign_in(slips, server, host_user)
    slips.goto(server + host.locator("[data-slips-link]").get_attribute("href"))
    assert slips.locator(".slip").count() == 10
    assert slips.locator(".slip-qr svg").count() == 10
    shot(slips, "slips")
    slips.emulate_media(media="print")
    shot(slips, "slips-print")
    pdf = slips.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2  # ten slips: eight, then two

    # A student opens the URL of their slip (its QR code) and joins: nothing to type.
    entry = live.roster.get(name="学生03")
    url = slips.locator(f'.slip[data-token="{entry.token}"] .slip-qr').get_attribute("data-url")
    assert url.endswith(f"/live/{pin}/?roster={entry.token}")
    phone = pages.open(PHONE)
    phone.goto(url.replace("http://testserver", server))
    assert phone.locator("[data-team-choice]").count() == 0
    phone.locator("[data-join-form] button[type=submit]").click()
    wait_phase(phone, "lobby")
    phone.wait_for_function(
        "document.querySelector('[data-lobby-team]').textContent.includes('乙队')"
    )
    assert "学生03" in phone.locator("[data-me]").inner_text()
    shot(phone, "phone-roster-lobby")
    assert not pages.errors, pages.errors
