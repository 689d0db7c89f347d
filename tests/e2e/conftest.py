"""Browser tests: Debian's chromium driven by Python Playwright (sync API).

Playwright downloads no browser here: we launch /usr/bin/chromium. Without it the
tests are skipped, unless CI=true or REQUIRE_SERVICES=1, which make that a failure.
Playwright's sync API runs an event loop in the test thread for as long as it is
open, so Django's guard against ORM calls from async contexts has to be lifted for
these tests. It is lifted only while the browser (one per module) and its loop are
alive, not for the whole session, so other tests keep Django's guard.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MUST_RUN = os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_SERVICES") == "1"
PHONE = {"width": 390, "height": 844}
# Every page carries a Content-Security-Policy (config/settings.py, frontend/csp.py).
# Chromium reports a violation in the console; this script, run before any page
# script, also turns each `securitypolicyviolation` event into a console error naming
# the directive, so a test that visits a page needing an inline script, handler or
# style fails on it.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ` +
                `${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
DESKTOP = {"width": 1280, "height": 800}


# Playwright polls a wait_for_function *expression* string with an in-page eval(),
# which the site's CSP (script-src 'self', no 'unsafe-eval') refuses; a function is
# called without eval. So the tests' expressions are passed on as arrow functions.
_A_FUNCTION = re.compile(r"^\s*(async\s+)?(function\b|\([^()]*\)\s*=>|[\w$]+\s*=>)")


def _as_function(expression: str) -> str:
    return expression if _A_FUNCTION.match(expression) else f"() => ({expression})"


try:
    from playwright.sync_api import Page as _Page
except ImportError:  # the browser fixture says so
    pass
else:
    if not getattr(_Page.wait_for_function, "_csp_safe", False):
        _wait_for_function = _Page.wait_for_function

        def _wait_for_function_csp_safe(self, expression, *args, **kwargs):
            return _wait_for_function(self, _as_function(expression), *args, **kwargs)

        _wait_for_function_csp_safe._csp_safe = True  # type: ignore[attr-defined]
        _Page.wait_for_function = _wait_for_function_csp_safe


def _missing(reason: str):
    if MUST_RUN:
        pytest.fail(f"browser tests must run here (CI/REQUIRE_SERVICES): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(django_db_setup):
    # django_db_setup first: the test database is made before Playwright's loop runs.
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Python Playwright is not installed")
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def context(browser):
    """A fresh phone-sized browser profile (no cookies) per test."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_WATCH)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def shots_dir() -> Path | None:
    """Where to save screenshots for a person to look at: E2E_SHOTS_DIR, if set."""
    value = os.environ.get("E2E_SHOTS_DIR")
    if not value:
        return None
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- A live server for the live-round tests --------------------------------------------------


@pytest.fixture
def live_server_process(transactional_db, browser):
    """daphne in its own process, on this test's database (committed rows: a
    transactional test). Stopped before the database is flushed."""
    from urllib.parse import urlparse

    from django.db import connection

    from tests.support.daphne import daphne

    settings_dict = connection.settings_dict
    # The browser fixture lifts Django's async guard in this process; not in daphne's.
    env = {"DJANGO_ALLOW_ASYNC_UNSAFE": ""}
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
    else:
        url = urlparse(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(path="/" + settings_dict["NAME"]).geturl()
    with daphne(env=env) as base:
        yield base


class BrowserPages:
    """Browser contexts opened by a test, each with its console errors recorded."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts = []
        self.errors: list[str] = []

    def open(self, viewport: dict):
        context = self.browser.new_context(viewport=viewport, device_scale_factor=1)
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_WATCH)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browser_pages(browser):
    opened = BrowserPages(browser)
    yield opened
    opened.close()


def sign_in(page, base: str, user) -> None:
    """A session made here, in the shared database, handed to the browser as its cookie.
    (The login form would need the same password hasher in both processes: this test
    process uses a fast one that daphne does not know.)"""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )


def publish_question(bank, raw: dict):
    """A question written into `bank`, reviewed and published; its version."""
    from quizzes.bank import services as bank_services

    author = bank.owners.first()
    question = bank_services.question_create(
        bank=bank,
        author=author,
        raw={
            "dimension": "knowledge",
            "topic": "emergency",
            "difficulty": "easy",
            "source": "应急科普",
            **raw,
        },
    )
    version = question.versions.get()
    bank_services.version_submit(version=version, actor=author)
    bank_services.version_publish(version=version, reviewer=bank.reviewers.first())
    version.refresh_from_db()
    return version
