"""PIN guessing (issue 12, point 10): a six-digit PIN is all that stands between a
stranger and a class's round. Wrong PINs are limited per client address and per
session, over HTTP (every /live/<pin>/… page) and WebSocket (/ws/live/<pin>/) together:
past PIN_FAILURES_PER_MINUTE, every lookup from there is refused (HTTP 429, socket
error pin_throttled and close 4003), right PINs too, so the throttle tells nothing.
Right PINs never count: a school joining from behind one address is not held back."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse

from realtime.consumers import CLOSE_PIN_THROTTLED
from realtime.live import pins
from realtime.models import LiveRound
from realtime.routing import websocket_urlpatterns
from tests.support.live import make_round

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("districts_loaded"),
]

LIMIT = 20


@pytest.fixture(autouse=True)
def limit(settings):
    settings.PIN_FAILURES_PER_MINUTE = LIMIT


def wrong_pin(live: LiveRound, n: int) -> str:
    """A PIN of no round."""
    pin = f"{(int(live.pin) + 1 + n) % 900000 + 100000:06d}"
    assert not LiveRound.objects.filter(pin=pin).exists()
    return pin


def pages(pin: str) -> list[str]:
    return [
        reverse("realtime:play", args=[pin]),
        reverse("realtime:teams", args=[pin]),
        reverse("realtime:screen", args=[pin]),
        reverse("realtime:enter") + f"?pin={pin}",
    ]


def guest(address: str = "203.0.113.7") -> Client:
    return Client(REMOTE_ADDR=address)


def test_wrong_pins_over_http_are_limited_per_address_and_then_no_pin_is_looked_up():
    live = make_round(types=["single"])
    attacker = guest()
    for n in range(LIMIT):
        url = pages(wrong_pin(live, n))[n % 4]
        assert attacker.get(url).status_code in (404, 400), url
    for url in pages(wrong_pin(live, LIMIT)) + pages(live.pin):  # the right one too
        response = attacker.get(url)
        assert response.status_code == 429, url
        assert response["Retry-After"] == str(pins.PIN_WINDOW_S)
    attacker.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the text in the source's words
    assert "Too many wrong PINs" in attacker.get(pages(live.pin)[0]).content.decode()
    # Another address is not held back.
    assert guest("198.51.100.9").get(pages(live.pin)[0]).status_code == 200


def test_an_ipv6_attacker_cannot_rotate_addresses_within_its_64():
    live = make_round(types=["single"])
    for n in range(LIMIT):
        assert (
            guest(f"2001:db8:1:2::{n + 1:x}").get(pages(wrong_pin(live, n))[0]).status_code == 404
        )
    assert guest("2001:db8:1:2::ffff").get(pages(live.pin)[0]).status_code == 429
    assert guest("2001:db8:1:3::1").get(pages(live.pin)[0]).status_code == 200


def test_a_school_of_40_joining_from_one_address_is_never_held_back_even_with_typos():
    live = make_round(types=["single"])
    school = "192.0.2.50"
    for n in range(LIMIT - 1):  # a few typos along the way
        assert guest(school).get(pages(wrong_pin(live, n))[0]).status_code == 404
    for _student in range(40):
        assert guest(school).get(pages(live.pin)[0]).status_code == 200
        assert guest(school).get(pages(live.pin)[1]).status_code == 200


def test_a_session_is_limited_even_when_its_address_changes():
    live = make_round(types=["single"])
    browser = guest()
    browser.get(reverse("realtime:enter"))
    session = browser.session
    session["x"] = 1
    session.save()  # a session cookie, as a browser that has been here has
    browser.cookies["sessionid"] = session.session_key
    for n in range(LIMIT):
        browser.defaults["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        assert browser.get(pages(wrong_pin(live, n))[0]).status_code == 404
    browser.defaults["REMOTE_ADDR"] = "203.0.113.200"
    assert browser.get(pages(live.pin)[0]).status_code == 429


# --- WebSocket -----------------------------------------------------------------------------


async def socket_try(pin: str, hello: dict, address: str = "203.0.113.7"):
    """Open /ws/live/<pin>/ from `address`, say hello; the first reply and the close
    code (None if the socket stayed open)."""
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/live/{pin}/")
    comm.scope["client"] = (address, 50000)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps(hello))
    reply = json.loads(await comm.receive_from(timeout=5))
    closed = None
    if reply["type"] == "error" and reply["code"] == "pin_throttled":
        output = await comm.receive_output(timeout=5)
        assert output["type"] == "websocket.close"
        closed = output["code"]
    await comm.disconnect()
    return reply, closed


@pytest.mark.asyncio
async def test_wrong_pins_over_websocket_are_limited_and_the_socket_is_closed_with_4003():
    live = await sync_to_async(make_round)(types=["single"])
    wrong = [await sync_to_async(wrong_pin)(live, n) for n in range(LIMIT + 1)]
    hellos = [{"type": "join", "nickname": "猜猜看"}, {"type": "host"}, {"type": "screen"}]
    for n in range(LIMIT):
        reply, closed = await socket_try(wrong[n], hellos[n % 3])
        assert (reply["code"], closed) == ("no_round", None)
    for pin in (wrong[LIMIT], live.pin):
        reply, closed = await socket_try(pin, {"type": "join", "nickname": "猜中了"})
        assert (reply["type"], reply["code"], closed) == ("error", "pin_throttled", 4003)
    assert CLOSE_PIN_THROTTLED == 4003
    reply, closed = await socket_try(live.pin, {"type": "join", "nickname": "别处"}, "198.51.100.9")
    assert reply["type"] == "welcome"


@pytest.mark.asyncio
async def test_http_and_websocket_guesses_share_one_count():
    live = await sync_to_async(make_round)(types=["single"])
    for n in range(LIMIT // 2):
        response = await sync_to_async(guest().get)(
            pages(await sync_to_async(wrong_pin)(live, n))[0]
        )
        assert response.status_code == 404
    for n in range(LIMIT // 2, LIMIT):
        pin = await sync_to_async(wrong_pin)(live, n)
        assert (await socket_try(pin, {"type": "host"}))[0]["code"] == "no_round"
    _reply, closed = await socket_try(live.pin, {"type": "screen"})
    assert closed == 4003
    assert (await sync_to_async(guest().get)(pages(live.pin)[0])).status_code == 429


@pytest.mark.asyncio
async def test_a_class_joining_one_pin_over_websocket_from_one_address_all_get_in():
    live = await sync_to_async(make_round)(types=["single"])
    for n in range(40):
        reply, closed = await socket_try(live.pin, {"type": "join", "nickname": f"学生{n}"})
        assert reply["type"] == "welcome" and closed is None, reply


def test_the_window_ends_and_the_address_may_look_up_again(monkeypatch):
    """The count lives in the cache for PIN_WINDOW_S: once it expires, lookups work."""
    live = make_round(types=["single"])
    attacker = guest()
    for n in range(LIMIT + 1):
        attacker.get(pages(wrong_pin(live, n))[0])
    assert attacker.get(pages(live.pin)[0]).status_code == 429
    from django.core.cache import cache

    for key in pins.throttle_keys("203.0.113.7", None):
        cache.delete(key)  # what the window's end does
    assert attacker.get(pages(live.pin)[0]).status_code == 200
