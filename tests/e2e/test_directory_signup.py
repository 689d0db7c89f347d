"""Acceptance of issue 12's directory, in a real browser on a fresh install (no demo
data, no school at all): an organizer signs in (password, then TOTP), imports a school
directory file through the page, a child of one of its schools signs up choosing it,
and the guardian consents through the link the e-mail backend delivered. A student
whose school is not listed signs up with its name, and the organizer places them.

With E2E_SHOTS_DIR set, the directory pages and the sign-up page are saved at a phone
and a desktop size for a person to look at."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.demo_directory import directory_rows
from accounts.directory import files, writing
from accounts.models import District, Profile, School, User
from accounts.selectors import user_can_play
from tests.factories import PASSWORD, UserFactory, adult
from tests.support.mfa import totp_code

from .conftest import DESKTOP, PHONE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

CONSENT_LINK = re.compile(r"https?://[^/\s]+(/me/consent/[^\s/]+/)")
CHILD_SCHOOL = "海淀示例实验小学（虚构）"


def shoot(page, shots_dir, name):
    if shots_dir is None:
        return
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(shots_dir / f"directory-{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def sign_in(page, base, user):
    page.goto(base + "/accounts/login/")
    form = page.locator('main form[action="/accounts/login/"]')
    form.locator('input[name="login"]').fill(user.username)
    form.locator('input[name="password"]').fill(PASSWORD)
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    for offset in (0, 1):  # a code read just before a 30 s boundary may be stale
        page.locator('input[name="code"]').fill(totp_code(offset=offset))
        page.locator('main button[type="submit"]').first.click()
        page.wait_for_load_state()
        if "/2fa/authenticate/" not in page.url:
            return
    raise AssertionError("no TOTP code was accepted")


def fill_sign_up(page, *, username, nickname, birth_year, grade, district):
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password1"]').fill(PASSWORD)
    page.locator('input[name="password2"]').fill(PASSWORD)
    page.locator('input[name="nickname"]').fill(nickname)
    page.locator('input[name="role"][value="student"]').check()
    page.locator('input[name="birth_year"]').fill(str(birth_year))
    code = {"海淀区": "110108", "朝阳区": "110105"}[district]
    page.locator('select[name="district"]').select_option(str(District.objects.get(code=code).pk))
    page.locator('select[name="grade"]').select_option(str(grade))


def test_an_imported_directory_lets_a_child_sign_up_and_a_guardian_consent(
    live_server, browser_pages, shots_dir, tmp_path
):
    assert not School.objects.exists()  # a fresh install: nobody could pick a school
    organizer = UserFactory(role=User.Role.ORGANIZER)
    adult(user=organizer)
    base = live_server.url
    sample = tmp_path / "schools.csv"
    sample.write_bytes(writing.write(files.SCHOOLS, directory_rows(), fmt="csv"))

    # --- The organizer imports the directory through the page -----------------------------
    page = browser_pages.open(PHONE)
    sign_in(page, base, organizer)
    page.goto(base + "/directory/")
    assert page.locator("table.directory-schools").count() == 0
    shoot(page, shots_dir, "empty")
    page.locator('nav[aria-label] a[href="/directory/import/"]').first.click()
    page.wait_for_url(re.compile(r"/directory/import/$"))
    page.locator('input[name="kind"][value="schools"]').check()
    page.locator('input[name="file"]').set_input_files(str(sample))
    page.locator('form[action="/directory/import/"] button[type="submit"]').click()
    page.wait_for_selector("#import-confirm")
    assert not School.objects.exists()  # the preview wrote nothing
    assert page.locator("table.import-rows tbody tr").count() == min(len(directory_rows()), 50)
    assert no_sideways_scroll(page)
    shoot(page, shots_dir, "import-preview")
    page.locator("#import-confirm button[type=submit]").click()
    page.wait_for_url(re.compile(r"/directory/$"))
    assert School.objects.count() == len(directory_rows())
    assert School.objects.values("region").distinct().count() == 17
    assert page.get_by_role("link", name=CHILD_SCHOOL).is_visible()
    assert no_sideways_scroll(page)
    shoot(page, shots_dir, "list")
    page.get_by_role("link", name=CHILD_SCHOOL).click()
    page.wait_for_url(re.compile(r"/directory/schools/\d+/$"))
    shoot(page, shots_dir, "school-edit")

    # --- A child of one of its schools signs up, choosing it ------------------------------
    mail.outbox.clear()
    child_page = browser_pages.open(PHONE)
    child_page.goto(base + "/accounts/signup/")
    shoot(child_page, shots_dir, "signup")
    year = timezone.localdate().year - 10
    fill_sign_up(
        child_page,
        username="xiaoming",
        nickname="小明",
        birth_year=year,
        grade=4,
        district="海淀区",
    )
    child_page.locator('select[name="school"]').select_option(label=CHILD_SCHOOL)
    child_page.locator('input[name="guardian_contact"]').fill("mother@example.org")
    child_page.locator('select[name="guardian_relationship"]').select_option("mother")
    child_page.locator('main form button[type="submit"]').last.click()
    child_page.wait_for_url(lambda url: "/accounts/signup/" not in url)
    child = User.objects.get(username="xiaoming")
    assert child.profile.school.name == CHILD_SCHOOL
    assert not user_can_play(user=child)

    # --- The guardian consents through the link the e-mail backend delivered --------------
    [message] = [m for m in mail.outbox if "mother@example.org" in m.to]
    link = CONSENT_LINK.search(message.body).group(1)
    guardian = browser_pages.open(PHONE)
    guardian.goto(base + link)
    guardian.locator('input[name="allow_processing"]').check()
    with guardian.expect_navigation():
        guardian.locator('main form button[type="submit"]').click()
    assert user_can_play(user=child)

    # --- A student whose school is not listed signs up with its name ----------------------
    other = browser_pages.open(PHONE)
    other.goto(base + "/accounts/signup/")
    fill_sign_up(
        other,
        username="lihua",
        nickname="李华",
        birth_year=timezone.localdate().year - 16,
        grade=10,
        district="朝阳区",
    )
    other.locator('input[name="school_not_listed"]').check()
    other.locator('input[name="pending_school_name"]').fill("朝阳示例新学校")
    other.locator('main form button[type="submit"]').last.click()
    other.wait_for_url(lambda url: "/accounts/signup/" not in url)
    waiting = Profile.objects.get(user__username="lihua")
    assert (waiting.school, waiting.pending_school_name) == (None, "朝阳示例新学校")

    # --- The organizer (still signed in: a TOTP code serves once) places the student ----
    page.goto(base + "/directory/")
    page.locator('.notice a[href="/directory/pending/"]').click()
    page.wait_for_url(re.compile(r"/directory/pending/$"))
    assert no_sideways_scroll(page)
    shoot(page, shots_dir, "pending")
    card = page.locator(".pending-school").filter(has_text="朝阳示例新学校")
    card.locator('input[name="stages"][value="senior"]').check()
    card.locator('form:has(input[name="create"]) button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/directory/pending/$"))
    waiting.refresh_from_db()
    assert waiting.school.name == "朝阳示例新学校" and waiting.pending_school_name == ""
    assert not browser_pages.errors, browser_pages.errors
