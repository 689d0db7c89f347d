"""The WebSocket handshake's origin check compares scheme, host and port exactly, as
Django's CSRF check compares a form's Origin: a page on another port or scheme of the
same host is another origin (another application, or plain HTTP a network can rewrite)
and may not open a socket with the visitor's cookies."""

import pytest
from channels.testing import WebsocketCommunicator

from realtime.security import allowed_origin, parse_origin


def scope(host="sciarena.example.org", *, proto=None, scheme="ws"):
    headers = [(b"host", host.encode())]
    if proto:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["sciarena.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.WS_ALLOWED_ORIGINS = []


@pytest.mark.parametrize(
    "origin",
    [
        "https://sciarena.example.org:8443",  # another port of the same host
        "https://sciarena.example.org:80",
        "http://sciarena.example.org",  # the same host over plain HTTP
        "http://sciarena.example.org:443",
        "https://evil.example.org",
        "https://sciarena.example.org.evil.example",
        "null",
        "",
        "https://sciarena.example.org/path",
        "https://user@sciarena.example.org",
    ],
)
def test_an_origin_other_than_the_sockets_own_is_refused(production, origin):
    assert not allowed_origin(scope(proto="https"), origin)


def test_the_sockets_own_origin_is_allowed_on_its_default_and_on_another_port(production):
    assert allowed_origin(scope(proto="https"), "https://sciarena.example.org")
    assert allowed_origin(scope(proto="https"), "https://SciArena.example.org:443")
    # Behind nginx on a non-default port, Host carries the port ($http_host).
    on_8443 = scope("sciarena.example.org:8443", proto="https")
    assert allowed_origin(on_8443, "https://sciarena.example.org:8443")
    assert not allowed_origin(on_8443, "https://sciarena.example.org")
    assert not allowed_origin(on_8443, "https://sciarena.example.org:8444")


def test_a_host_not_in_allowed_hosts_is_not_its_own_origin(production):
    # DNS rebinding: evil.example resolves to the server; page and socket agree.
    assert not allowed_origin(scope("evil.example", proto="https"), "https://evil.example")


def test_the_scheme_comes_from_the_proxy_header_when_debug_is_off(production):
    assert not allowed_origin(scope(proto="http"), "https://sciarena.example.org")
    assert allowed_origin(scope(proto="http"), "http://sciarena.example.org")
    assert not allowed_origin(scope(), "https://sciarena.example.org")


def test_allowed_origins_are_compared_with_scheme_and_port(production, settings):
    settings.WS_ALLOWED_ORIGINS = ["https://screen.example.org", "https://.schools.example.org"]
    elsewhere = scope("sciarena.example.org", proto="https")
    assert allowed_origin(elsewhere, "https://screen.example.org")
    assert allowed_origin(elsewhere, "https://screen.example.org:443")
    assert not allowed_origin(elsewhere, "https://screen.example.org:8443")
    assert not allowed_origin(elsewhere, "http://screen.example.org")
    assert allowed_origin(elsewhere, "https://a.schools.example.org")
    assert allowed_origin(elsewhere, "https://schools.example.org")
    assert not allowed_origin(elsewhere, "https://a.schools.example.org:8443")
    assert not allowed_origin(elsewhere, "https://evilschools.example.org")


def test_parse_origin_fills_in_default_ports_and_refuses_what_is_not_an_origin():
    assert parse_origin("https://a.example") == ("https", "a.example", 443)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    for bad in ("ftp://a.example", "https://a.example:99999", "a.example", "null"):
        assert parse_origin(bad) is None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (b"http://127.0.0.1:8000", True),
        (b"http://127.0.0.1:8001", False),  # the wrong port
        (b"http://127.0.0.1", False),
        (b"https://127.0.0.1:8000", False),  # the wrong scheme
    ],
)
async def test_the_site_application_checks_the_port_of_the_origin(origin, accepted):
    from config.asgi import application

    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin)]
    communicator = WebsocketCommunicator(application, "/ws/clock/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected is accepted
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_handshake_with_two_origin_headers_is_refused():
    from config.asgi import application

    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"origin", b"http://127.0.0.1:8000"),
        (b"origin", b"https://evil.example"),
    ]
    communicator = WebsocketCommunicator(application, "/ws/clock/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()
