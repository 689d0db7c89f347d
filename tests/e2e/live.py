"""What the live-round browser tests share: their marks, the projector's size,
screenshots for people to look at, and waiting on the pages.

Screenshots are taken only when LIVE_SHOTS_DIR names a directory (e.g.
`LIVE_SHOTS_DIR=/tmp make test PYTEST_ARGS="tests/e2e"`): each waits about a second
for the CSS transitions to finish first, most of these tests' time (about 50 s of
`make test`) when nobody looks at the pictures.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LIVE_ROUND_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]
SCREEN = {"width": 1280, "height": 720}
SHOTS = Path(os.environ["LIVE_SHOTS_DIR"]) if os.environ.get("LIVE_SHOTS_DIR") else None


def save_shot(page, name: str, *, settle_ms: int, full_page: bool) -> None:
    """A screenshot for a person to look at: LIVE_SHOTS_DIR/<name>.png, if it is set."""
    if SHOTS is None:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(settle_ms)  # let the CSS transitions (bars, leaderboard) finish
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def wait_phase(page, phase: str) -> None:
    page.wait_for_selector(f'[data-live-root][data-phase="{phase}"]')


def command(host, name: str) -> None:
    """Click a host command's button once the console shows and enables it."""
    button = host.locator(f'[data-command="{name}"]')
    button.wait_for(state="visible")
    host.wait_for_function(
        f"!document.querySelector('[data-command=\"{name}\"]').disabled", timeout=15_000
    )
    button.click()
