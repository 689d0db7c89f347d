"""The one settings module, read in fresh processes with different environments."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "acks_late": settings.CELERY_TASK_ACKS_LATE,
    "broker": settings.CELERY_BROKER_URL,
    "language": settings.LANGUAGE_CODE,
}))
"""

SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")


def run(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env_extra})
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def probe(env_extra: dict[str, str]) -> dict:
    result = run(env_extra, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_no_environment_it_is_the_embedded_default():
    found = probe({})
    assert found["debug"] is True
    assert found["db"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in found["db_options"]["init_command"]
    assert found["layer"] == "channels.layers.InMemoryChannelLayer"
    assert found["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert found["eager"] is True
    assert found["language"] == "zh-hans"


def test_with_database_and_redis_urls_it_is_the_distributed_setup():
    found = probe(
        {
            "DATABASE_URL": "postgres://sciarena@db.internal:5432/sciarena",
            "REDIS_URL": "redis://cache.internal:6379/0",
        }
    )
    assert found["db"] == "django.db.backends.postgresql"
    # Pooled: under daphne every database call ends by closing its connection.
    # 12: every request slot (frontend/admission.py) and the sockets' database threads.
    assert found["db_options"]["pool"]["max_size"] == 12
    assert found["conn_max_age"] == 0
    assert found["layer"] == "channels_redis.core.RedisChannelLayer"
    (host,) = found["layer_hosts"]
    assert host["address"] == "redis://cache.internal:6379/0"
    assert host["socket_timeout"] is None  # the redis-py 8 trap (docs/architecture.md)
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert found["eager"] is False
    assert found["acks_late"] is True
    assert found["broker"] == "redis://cache.internal:6379/0"


def test_db_pool_size_0_turns_the_pool_off_for_persistent_connections():
    found = probe(
        {
            "DATABASE_URL": "postgres://sciarena@db.internal:5432/sciarena",
            "DB_POOL_SIZE": "0",
            "DB_CONN_MAX_AGE": "60",
        }
    )
    assert "pool" not in found["db_options"]
    assert found["conn_max_age"] == 60


def test_redis_py_is_below_8_as_channels_redis_needs():
    import redis

    assert int(redis.__version__.split(".")[0]) < 8


def test_production_refuses_to_start_without_a_secret_key():
    result = run({"DEBUG": "0", "ALLOWED_HOSTS": "sciarena.example.org"}, "-c", PROBE)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


# What a deployment sets (docs/deploy.md, section 3).
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "sciarena.example.org",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "SMS_BACKEND": "accounts.sms.HTTPGatewaySMSBackend",
    "SMS_GATEWAY_URL": "https://sms.example.org/send",
}


def check_deploy(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"SECRET_KEY": secrets.token_urlsafe(64), **env_extra}
    return run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")


def test_production_settings_pass_check_deploy_without_a_warning():
    result = check_deploy(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_message_backends_that_never_deliver():
    for name, value, code in [
        ("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend", "sciarena.W101"),
        ("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend", "sciarena.W101"),
        ("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend", "sciarena.W101"),
        ("SMS_BACKEND", "accounts.sms.ConsoleSMSBackend", "sciarena.W102"),
        ("SMS_BACKEND", "accounts.sms.LocmemSMSBackend", "sciarena.W102"),
    ]:
        result = check_deploy({**PRODUCTION, name: value})
        assert result.returncode != 0, (name, value)
        assert code in result.stdout + result.stderr, (name, value)
    gateway_without_url = {k: v for k, v in PRODUCTION.items() if k != "SMS_GATEWAY_URL"}
    assert "sciarena.W105" in check_deploy(gateway_without_url).stderr
    # The defaults are the console backends: without settings a deployment fails it.
    bare = {k: v for k, v in PRODUCTION.items() if not k.endswith("_BACKEND")}
    output = check_deploy(bare).stderr
    assert "sciarena.W101" in output and "sciarena.W102" in output


def test_a_backend_that_cannot_be_imported_is_an_error_at_start():
    result = run({"SMS_BACKEND": "yourdeployment.sms.Missing"}, "manage.py", "check")
    assert result.returncode != 0
    assert "sciarena.E100" in result.stderr


def test_hsts_preload_is_an_opt_in_and_hsts_starts_short():
    found = run(
        {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(64)},
        "-c",
        "import django, json; from django.conf import settings; django.setup();"
        " print(json.dumps([settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_PRELOAD]))",
    )
    assert json.loads(found.stdout.strip().splitlines()[-1]) == [86400, False]
    result = check_deploy({**PRODUCTION, "SECURE_HSTS_PRELOAD": "1"})
    assert "sciarena.W103" in result.stderr  # the preload list wants a year
    assert (
        check_deploy(
            {**PRODUCTION, "SECURE_HSTS_PRELOAD": "1", "SECURE_HSTS_SECONDS": "31536000"}
        ).returncode
        == 0
    )


def test_the_client_address_is_read_one_way_only():
    stale = check_deploy({**PRODUCTION, "TRUSTED_PROXY_COUNT": "1"})
    assert stale.returncode != 0 and "sciarena.W104" in stale.stderr
    result = run(
        {},
        "-c",
        "import django; from django.conf import settings; django.setup();"
        " settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1;"
        " from frontend.checks import check_client_address;"
        " print([e.id for e in check_client_address()])",
    )
    assert "sciarena.E103" in result.stdout, result.stderr


def test_the_asgi_entry_point_freezes_what_it_loaded_and_spaces_full_collections():
    # Full collections in a server process then skip the application's own objects
    # and come ten times less often (config/gctune.py).
    result = run(
        {},
        "-c",
        "import gc, config.asgi; print(gc.get_freeze_count(), len(gc.get_objects()), "
        "gc.get_threshold()[2])",
    )
    assert result.returncode == 0, result.stderr
    frozen, walked, full_every = map(int, result.stdout.split())
    assert frozen > 50_000
    assert walked < frozen / 5
    assert full_every == 100
