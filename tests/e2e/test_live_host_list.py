"""The host console of a round with more players than one frame carries: its list comes
as the snapshot's first page and the player_list pages after it (docs/protocol.md,
"Frame sizes"), and frontend/static/js/live/host.js shows every player, once, again
after every snapshot, with a player who joins meanwhile."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from realtime.live import snapshots
from realtime.models import LivePlayer
from tests.support.daphne import ORIGIN
from tests.support.live import make_round

from .conftest import DESKTOP, sign_in
from .live import LIVE_ROUND_MARKS, command

pytestmark = LIVE_ROUND_MARKS

HALL = snapshots.PLAYER_PAGE * 2 + 20  # a snapshot's page, a full page, and some


def shows_players(host, count: int) -> None:
    """The console counts `count` players and lists each of them once."""
    host.wait_for_function(
        f"document.querySelector('[data-player-count]').textContent === '{count}'"
        f" && document.querySelectorAll('[data-players] [data-player]').length === {count}"
    )
    ids = host.eval_on_selector_all(
        "[data-players] [data-player]", "items => items.map(item => item.dataset.player)"
    )
    assert len(set(ids)) == count


def test_the_host_console_lists_every_player_of_a_round_larger_than_a_page(
    live_server_process, browser_pages
):
    server, pages = live_server_process, browser_pages
    live = make_round(types=["single"], seconds=30)
    LivePlayer.objects.bulk_create(LivePlayer(round=live, nickname=f"选手{n}") for n in range(HALL))
    host = pages.open(DESKTOP)
    sign_in(host, server, live.host)
    host.goto(f"{server}/live/{live.pin}/host/")
    shows_players(host, HALL)

    # A state change makes the console ask for a snapshot: its pages replace the list.
    command(host, "pause")
    host.wait_for_selector('[data-status="paused"]')
    shows_players(host, HALL)

    # A phone joins: player_joined adds it, and the next snapshot keeps it.
    url = server.replace("http", "ws") + f"/ws/live/{live.pin}/"
    with connect(url, origin=ORIGIN) as phone:
        phone.send(json.dumps({"type": "join", "nickname": "后来者"}))
        assert json.loads(phone.recv(timeout=10))["type"] == "welcome"
        shows_players(host, HALL + 1)
        command(host, "resume")
        host.wait_for_selector('[data-status="lobby"]')
        shows_players(host, HALL + 1)
    assert not pages.errors, pages.errors
