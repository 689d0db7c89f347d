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
