import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_cache_and_channel_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer"}
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
