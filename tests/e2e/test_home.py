"""The home page in a real browser: Chinese first, English on request, elder mode that
lasts, and a sign-in through the real login page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import PASSWORD, adult

from .conftest import DESKTOP, PHONE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

# The Chinese catalogue (frontend/locale) is built from our English msgids at the end.
# Until it exists, assertions on our own Chinese text cannot hold; once it does, they
# are enforced. Text from Django's and allauth's own catalogues ("首页", "登录") does
# not depend on it.
CATALOGUE = (
    Path(settings.BASE_DIR) / "frontend" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
).exists()


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang")


def is_elder(page) -> bool:
    return page.evaluate("document.documentElement.classList.contains('elder')")


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def shoot(page, shots_dir, name):
    """Save the page at a phone and a desktop size when E2E_SHOTS_DIR is set."""
    if shots_dir is None:
        return
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(shots_dir / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def test_home_in_chinese_then_english_then_elder_mode_then_sign_in(live_server, page, shots_dir):
    user = adult()

    # --- Chinese by default, whatever the browser's own language ----------------------
    page.goto(live_server.url + "/")
    assert html_lang(page) == "zh-hans"
    nav = page.get_by_role("navigation")
    assert nav.get_by_role("link", name="首页").is_visible()  # Django's catalogue
    if CATALOGUE:  # needs catalogue
        assert page.get_by_role("heading", level=1).inner_text() == "科学擂台"
        assert not page.get_by_text("For citizens").count()
        assert page.get_by_text("不作为中小学招生入学依据").first.is_visible()
    assert no_sideways_scroll(page)
    shoot(page, shots_dir, "home-zh")

    # --- Keyboard: the first Tab reaches a visible skip link --------------------------
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 0

    # --- Switch to English -----------------------------------------------------------
    page.get_by_role("button", name="English").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.get_by_role("heading", level=1, name="SciArena").is_visible()
    assert page.get_by_role("heading", name="For citizens").is_visible()
    assert page.get_by_role("heading", name="For students").is_visible()
    assert nav.get_by_role("link", name="Home").is_visible()
    assert page.get_by_role("button", name="English").get_attribute("aria-current") == "true"
    assert page.get_by_text("Results are not used for school admissions.").first.is_visible()
    shoot(page, shots_dir, "home-en")

    # --- Elder mode: larger type, larger targets, and it lasts -------------------------
    toggle = page.get_by_role("button", name="Elder mode")
    assert toggle.get_attribute("aria-pressed") == "false"
    page.evaluate("window.__samePage = true")
    toggle.click()
    page.wait_for_function("document.documentElement.classList.contains('elder')")
    assert toggle.get_attribute("aria-pressed") == "true"
    # site.js switched it in place (no reload) and told screen readers.
    assert page.evaluate("window.__samePage === true")
    assert page.locator("[data-elder-status]").inner_text() == "Elder mode is on."
    body_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_px >= 24  # 18 pt
    line_height = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    assert line_height >= 1.5 * body_px
    for target in (
        toggle,
        page.get_by_role("button", name="English"),
        nav.get_by_role("link", name="Home"),
        page.locator(".path .button").first,
    ):
        box = target.bounding_box()
        assert box["width"] >= 60 and box["height"] >= 60, (target, box)
    assert no_sideways_scroll(page)
    shoot(page, shots_dir, "home-en-elder")

    page.reload()
    assert is_elder(page), "elder mode survives a reload (cookie)"
    assert page.get_by_role("button", name="Elder mode").get_attribute("aria-pressed") == "true"

    # --- Sign in through the real login page ----------------------------------------
    nav.get_by_role("link", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert is_elder(page) and html_lang(page) == "en"
    shoot(page, shots_dir, "login-en-elder")
    login_form = page.locator('main form[action="/accounts/login/"]')
    login_form.locator('input[name="login"]').fill(user.username)
    login_form.locator('input[name="password"]').fill(PASSWORD)
    login_form.locator('button[type="submit"]').click()

    page.wait_for_url(re.compile(r"/me/$"))
    assert nav.get_by_role("link", name="My account").is_visible()
    assert nav.get_by_role("button", name="Sign out").is_visible()
    assert not nav.get_by_role("link", name="Sign in").count()
    assert page.locator(".messages").is_visible()
    assert is_elder(page) and html_lang(page) == "en"
    shoot(page, shots_dir, "me-en-elder")


def test_elder_mode_works_without_javascript(browser, live_server):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        page.locator("form[data-elder-toggle] button").click()
        page.wait_for_url(re.compile(r"/accounts/login/$"))
        assert is_elder(page), "the form post turned it on and came back to the same page"
        page.goto(live_server.url + "/")
        assert is_elder(page)
    finally:
        context.close()
