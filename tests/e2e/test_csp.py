"""The Content-Security-Policy in a real browser: Chromium enforces it on the site's
pages, and the browser tests' fixtures fail on any violation (tests/e2e/conftest.py),
so every page those tests visit is shown to need nothing the policy forbids."""

from __future__ import annotations

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]


def test_the_fixtures_report_an_inline_script_the_policy_blocked(context, live_server):
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + "/")
    # Markup that got past the sanitiser: an inline handler and an inline style.
    page.evaluate(
        """() => {
        const box = document.createElement("div");
        box.innerHTML = '<img src="/static/none.png" onerror="window.pwned = 1">' +
                        '<p style="color: red">x</p>';
        document.body.append(box);
        const s = document.createElement("script");
        s.textContent = "window.pwned = 2";
        document.body.append(s);
    }"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None
    assert any("Content Security Policy" in text for text in errors), errors


def test_the_home_page_loads_with_no_violation(page, live_server):
    response = page.goto(live_server.url + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
