"""Spoofed X-Forwarded-For: a client cannot lift a per-IP limit by writing the header.

The documented set-up (docs/deploy.md, section 8): nginx *overwrites* X-Forwarded-For
with the address it got the connection from, and daphne, started with --proxy-headers,
takes that as the client's address (REMOTE_ADDR, a socket's scope client);
frontend.clientip reads it, and so does allauth. Here the real thing: nginx with the
configuration text of docs/deploy.md in front of a real daphne with --proxy-headers,
and guests starting practice papers (the per-IP guest limit, quizzes.play.guest) from
fresh sessions, each with another forged address. The limit holds. With nginx
configured the way the documentation used to say (appending: $proxy_add_x_forwarded_for)
the same traffic lifts it, which shows the test can see the attack.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse

from frontend.clientip import client_ip
from tests.support.daphne import daphne
from tests.support.nginx import (
    Site,
    Visitor,
    doc_config,
    nginx,
    nginx_available,
)
from tests.support.processes import free_port

LIMIT = 3
MUST_RUN = os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_SERVICES") == "1"
FORGED = [
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Forwarded-For": "198.51.100.1, 198.51.100.2"},
    {"X-Forwarded-For": "10.9.8.7", "X-Real-IP": "10.9.8.6", "Forwarded": "for=10.9.8.5"},
    {"X-Forwarded-For": "unknown"},
    {"X-Forwarded-For": "::1"},
    {"X-Forwarded-For": "192.0.2.44"},
    {"X-Forwarded-For": "192.0.2.45"},
    {"X-Forwarded-For": "192.0.2.46"},
]


# --- the one reading, in process ------------------------------------------------------


def test_the_app_never_reads_the_header_itself(settings):
    from allauth.account.adapter import get_adapter

    request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.3"
    )
    assert client_ip(request) == "192.0.2.1"
    assert get_adapter(request).get_client_ip(request) == "192.0.2.1"  # allauth agrees


def test_a_socket_reads_its_scope_client_the_same_way():
    headers = [(b"x-forwarded-for", b"203.0.113.9")]
    assert client_ip({"client": ["192.0.2.1", 50000], "headers": headers}) == "192.0.2.1"
    assert client_ip({"client": ["::ffff:192.0.2.1", 1]}) == "192.0.2.1"
    assert client_ip({"client": None}) is None
    assert client_ip({"client": ["not an address", 1]}) is None


def test_the_documented_nginx_config_overwrites_the_header_everywhere():
    text = doc_config()
    assert "$proxy_add_x_forwarded_for" not in text
    assert text.count("proxy_set_header X-Forwarded-For $remote_addr;") == text.count(
        "proxy_pass http://sciarena;"
    )
    assert text.count("proxy_set_header Host $http_host;") == text.count(
        "proxy_pass http://sciarena;"
    )


# --- through nginx and daphne -------------------------------------------------------------


@pytest.fixture
def blueprint(transactional_db):
    from quizzes.papers.blueprints import blueprint_create
    from tests.quizzes.factories import BankFactory, fill_bank
    from tests.quizzes.helpers import DIMENSIONS, opened

    bank = BankFactory()
    fill_bank(bank, {("true_false", d): 2 for d in DIMENSIONS})
    return opened(
        blueprint_create(
            bank=bank,
            name="家庭安全练习",
            cells=[{"type": "true_false", "count": 1}],
            actor=bank.owners.first(),
        )
    )


@pytest.fixture
def server(transactional_db):
    """One daphne as docs/deploy.md starts it (--proxy-headers), on this test's data."""
    if not nginx_available():
        if MUST_RUN:
            pytest.fail("nginx must be installed here (CI): apt-get install nginx-light")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    from urllib.parse import urlparse

    from django.db import connection

    env = {"GUEST_STARTS_PER_HOUR": str(LIMIT), "ALLOWED_HOSTS": "sciarena.example.org,127.0.0.1"}
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(connection.settings_dict["NAME"])
    else:
        url = urlparse(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    with daphne(env=env, args=("--proxy-headers", "--access-log", "/dev/null")) as base:
        yield int(base.rsplit(":", 1)[1])


def site_for(tmp_path: Path, port: int) -> Site:
    return Site(
        workdir=tmp_path / "nginx",
        upstreams=[port],
        http_port=free_port(),
        https_port=free_port(),
        static_root=tmp_path / "static",
        media_root=tmp_path / "media",
    )


def guest_starts(site: Site, blueprint) -> list[int]:
    """Each forged address from a fresh session: the HTTP status of each start and
    where it went (the paper, or back to the list when refused)."""
    from quizzes.models import Paper

    path = reverse("papers:start", args=[blueprint.pk])
    outcomes = []
    for forged in FORGED:
        visitor = Visitor(site, forged)
        status, headers, _body = visitor.post(path, {})
        assert status == 302, status
        outcomes.append(headers["Location"] != reverse("papers:list"))
    assert Paper.objects.count() == sum(outcomes)
    return outcomes


def test_forged_addresses_through_the_documented_proxy_do_not_lift_the_guest_limit(
    tmp_path, server, blueprint
):
    site = site_for(tmp_path, server)
    with nginx(site):
        started = guest_starts(site, blueprint)
    assert started == [True] * LIMIT + [False] * (len(FORGED) - LIMIT)


def test_the_same_traffic_through_an_appending_proxy_lifts_it(tmp_path, server, blueprint):
    """The configuration docs/deploy.md gave before: the attack this file is about."""
    appending = doc_config().replace("$remote_addr;  #", "$proxy_add_x_forwarded_for;  #")
    assert "$proxy_add_x_forwarded_for" in appending
    site = site_for(tmp_path, server)
    with nginx(site, appending):
        started = guest_starts(site, blueprint)
    assert sum(started) > LIMIT
