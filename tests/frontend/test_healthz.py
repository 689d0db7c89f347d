import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_cache_and_channel_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "relay", "wire"}
    assert all(check["ok"] for check in body["checks"].values())
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_healthz_answers_503_and_names_the_broken_part_when_the_cache_fails(client, monkeypatch):
    from frontend import health

    def broken():
        raise ConnectionError("cache down")

    monkeypatch.setattr(health, "check_cache", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["cache"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": body["checks"]["cache"]["ms"],
    }
    assert body["checks"]["database"]["ok"] is True


def test_healthz_answers_503_while_a_round_feed_is_cut_off_from_the_channel_layer(
    client, monkeypatch
):
    """A fresh channel may work again while a round's feed is still rejoining: /healthz
    must not say all is well while that round's sockets here get no broadcast."""
    from realtime import relay

    cut_off = {"ok": False, "feeds": 3, "cut_off": 1, "cut_off_since": 0.0, "rejoined": 1}
    monkeypatch.setattr("realtime.health.feeds_health", lambda: cut_off)
    response = client.get("/healthz")
    assert response.status_code == 503
    check = response.json()["checks"]["relay"]
    assert check["ok"] is False
    assert check["detail"].startswith("1 of 3 round feeds cut off from the channel layer")
    monkeypatch.setattr("realtime.health.feeds_health", relay.feeds_health)
    assert client.get("/healthz").status_code == 200


def test_healthz_names_the_backends_in_use(client, settings):
    body = client.get("/healthz").json()
    expected_db = (
        "postgresql" if "postgres" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    )
    assert body["checks"]["database"]["backend"] == expected_db
    layer = body["checks"]["channel_layer"]["backend"]
    cache = body["checks"]["cache"]["backend"]
    if settings.REDIS_URL:
        assert (layer, cache) == ("RedisChannelLayer", "RedisCache")
    else:
        assert (layer, cache) == ("InMemoryChannelLayer", "LocMemCache")


def test_a_missing_page_uses_the_site_layout(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b'id="main"' in response.content


class FakePool:
    """psycopg's pool as a database restart leaves it: `dead` connections that fail
    their query first, then good ones; or, while the database is down, none at all."""

    def __init__(self, dead=0, down=False):
        self.dead, self.down, self.timeouts = dead, down, []

    def open(self):
        pass

    def connection(self, timeout):
        import contextlib
        import time

        self.timeouts.append(timeout)

        @contextlib.contextmanager
        def lend():
            if self.down:
                time.sleep(timeout)
                raise TimeoutError("couldn't get a connection")
            dead, self.dead = self.dead > 0, max(0, self.dead - 1)

            class Pooled:
                def execute(self, sql):
                    if dead:
                        raise ConnectionError("server closed the connection unexpectedly")
                    return self

                def fetchone(self):
                    return (1,)

            yield Pooled()

        return lend()


def test_the_database_check_gives_up_within_its_bound_while_the_database_is_down(monkeypatch):
    import time

    from frontend import health

    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.3)
    pool = FakePool(down=True)
    monkeypatch.setattr(health, "connection", type("C", (), {"pool": pool, "vendor": "postgresql"}))
    started = time.monotonic()
    result = health._timed(health.check_database)
    assert result["ok"] is False and time.monotonic() - started < 1.0
    assert len(pool.timeouts) == 1 and pool.timeouts[0] <= 0.3  # not the pool's own 10 s


def test_the_database_check_passes_over_connections_a_restart_left_dead(monkeypatch):
    from frontend import health

    pool = FakePool(dead=3)
    monkeypatch.setattr(health, "connection", type("C", (), {"pool": pool, "vendor": "postgresql"}))
    assert health._timed(health.check_database)["ok"] is True
    assert len(pool.timeouts) == 4
