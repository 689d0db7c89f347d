"""SciArena settings: one module, driven by environment variables.

With no environment variables at all this is the *embedded default*: SQLite in WAL
mode, an in-memory channel layer, a local-memory cache, Celery tasks run eagerly
and DEBUG on, so that `make run` needs nothing installed. With DATABASE_URL and
REDIS_URL it is the *distributed* setup: PostgreSQL, Redis for the channel layer,
the cache and the Celery broker. Every variable is listed in README.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "django-insecure-local-development-only-never-deploy-this-key"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY") or _DEV_SECRET
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "quizzes",
    "competitions",
    "realtime",
    "leaderboards",
    "frontend",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "frontend.csp.CSPMiddleware",  # Content-Security-Policy (settings below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "frontend.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks a device a child's account used, so no guest play there without consent.
    "accounts.devices.ConsentDeviceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's RateLimited (phone codes, text caps) as a 429 page, never a 500.
    "frontend.middleware.RateLimitedMiddleware",
    # Organizers, admins and staff must set up TOTP before anything else (accounts.roles).
    "accounts.middleware.MFARequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.ui",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        )
    }
    DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "12"))
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        if DB_POOL_SIZE > 0:
            # Under daphne every database_sync_to_async call ends by closing the
            # connection: without a pool that is a new PostgreSQL backend (a fork) per
            # call, the most of a join's and an answer's cost at 2,000 players. With
            # psycopg's pool the close hands the connection back. A pool replaces
            # persistent connections (Django refuses both).
            DATABASES["default"]["CONN_MAX_AGE"] = 0
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": 1,
                "max_size": DB_POOL_SIZE,
                "timeout": 10,
            }
else:
    SQLITE_PATH = os.environ.get("SQLITE_PATH") or str(BASE_DIR / "db.sqlite3")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # The threads that serve pages live as long as the process
            # (frontend/threaded.py), so each keeps its connection: no new SQLite
            # connection per request. A file database has nothing to time out.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # WAL lets readers go on while one writer commits; IMMEDIATE takes the
                # write lock at BEGIN so concurrent writers queue instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Tests use a file too, not shared-cache memory: that takes table locks and
            # fails concurrent writers at once, where the real file waits its turn.
            # One file per test process, so two suites on one checkout do not collide.
            "TEST": {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")},
        }
    }
    (BASE_DIR / "var").mkdir(exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Admission: slots per kind of request, then a short queue, then a 503 ----------
# (frontend/admission.py; docs/deploy.md, "Load shedding"). All slots (3 + 3 + 1 + 2
# for /healthz) and the sockets' three database threads fit the default pool of 12.
HTTP_CONCURRENCY = int(os.environ.get("HTTP_CONCURRENCY", "3"))
ANSWER_CONCURRENCY = int(os.environ.get("ANSWER_CONCURRENCY", "3"))
HTTP_QUEUE = int(os.environ.get("HTTP_QUEUE", "32"))
HTTP_QUEUE_WAIT_MS = int(os.environ.get("HTTP_QUEUE_WAIT_MS", "250"))
# Sign-ins and password changes (PBKDF2, ~0.3 s of CPU each) have a lane of their own.
LOGIN_CONCURRENCY = int(os.environ.get("LOGIN_CONCURRENCY", "1"))
LOGIN_QUEUE = int(os.environ.get("LOGIN_QUEUE", "64"))
LOGIN_QUEUE_WAIT_MS = int(os.environ.get("LOGIN_QUEUE_WAIT_MS", "10000"))

# --- Redis: cache, channel layer, Celery ------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sciarena",
        }
    }
    # channels_redis 4.3 with redis-py 8 defaults breaks: a 5 s socket timeout kills
    # the blocking read of an idle channel. We pin redis<8 in pyproject.toml and
    # also say socket_timeout=None here, so an upgrade cannot bring the bug back.
    # tests/realtime/test_channel_layer.py idles a channel for more than 5 s.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "max_connections": int(os.environ.get("REDIS_MAX_CONNECTIONS", "1000")),
                    }
                ],
                "prefix": "sciarena:asgi",
                "capacity": 1500,
                "expiry": 60,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_ALWAYS_EAGER = False
    # Redis has no acknowledgements: a delivered message waits in an "unacked" set, and
    # a worker puts it back in the queue once it is older than visibility_timeout. That
    # is how a task whose whole worker was killed (kill -9, a lost host, systemd's
    # SIGKILL after TimeoutStopSec) runs again. So the timeout must be longer than the
    # longest task, or a task still running is delivered a second time; a background
    # job then passes to the newer delivery, which starts the work again
    # (quizzes.models.jobs). Workers look for such messages every interval × throttle
    # seconds (kombu: 10 × 10): here every 10 s, or a tenth of a short timeout.
    _visibility = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        "unacked_restore_interval": min(10, max(1, _visibility // 10)),
        "unacked_restore_throttle": 1,
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "sciarena",
            # Rate-limit and SMS counters live here: Django's default of 300 entries
            # would let a flood of other keys push a victim's counter out and reset
            # its cap (tests/hostile/test_sms_flood.py). 100,000 counters take about
            # 30 MB (measured); a flood beyond that is a deployment for Redis.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

# When a worker dies, its task runs again (docs/deploy.md, "When a worker dies"):
# - acks_late: a message is acknowledged after its task returns, not when it starts;
#   a task cut short is still in the broker.
# - reject_on_worker_lost: a pool process that dies (OOM killer, kill -9 of the child)
#   sends its task back to the queue at once, instead of acking it as failed. A task
#   that kills its worker every time would loop: background jobs stop after
#   quizzes.models.jobs.MAX_ATTEMPTS claims; the other tasks are quick and idempotent.
# - the whole worker killed: nobody rejects anything; the broker's visibility timeout
#   brings the message back (CELERY_BROKER_TRANSPORT_OPTIONS above).
# - the broker connection lost: a running task cannot be acknowledged any more and is
#   delivered again after the visibility timeout. The running one goes on (Celery 5's
#   default, said here as Celery 6 turns it round): its job's claim still holds, so
#   it finishes, and the second delivery finds the job done.
# Sound together because every task is idempotent and a background job is claimed by
# its task id (a redelivery takes over its own job; quizzes.models.jobs).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
# `celery -A config beat`: the periodic tasks (docs/deploy.md).
CELERY_BEAT_SCHEDULE = {
    "close-last-weeks-cohorts": {
        "task": "quizzes.cohorts_close",
        "schedule": crontab(minute=10, hour=0, day_of_week="monday"),
    },
    "expire-stale-jobs": {"task": "quizzes.jobs_expire", "schedule": crontab(minute="*/5")},
}
# Background jobs (quizzes.models.jobs): seconds a queued job may wait for a worker,
# and a running one may go without a heartbeat, before it is given up as failed and a
# new one may start. Settings, not constants, so that a deployment with long queues
# and the fault tests (a worker killed on purpose) can say their own.
JOB_START_TIMEOUT = int(os.environ.get("JOB_START_TIMEOUT", "1800"))
JOB_HEARTBEAT_TIMEOUT = int(os.environ.get("JOB_HEARTBEAT_TIMEOUT", "300"))

# --- Auth and accounts ------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:me"
LOGOUT_REDIRECT_URL = "frontend:home"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "phone", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupProfileForm"
# Sign-up does not reveal a registered e-mail address (accounts.adapter.SignupForm).
ACCOUNT_FORMS = {"signup": "accounts.adapter.SignupForm"}
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# Text-message codes are six digits, as people in China expect them: easy to type on
# a phone keypad and to read aloud to an older relative. Three tries per code
# (allauth's default) and the request_login_code limit below keep guessing hopeless.
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_USER_DISPLAY = "accounts.models.user_display"
# A whole class logs in from one school IP: the per-IP limits are generous and the
# tight limits are per key (the username, email or phone being tried).
ACCOUNT_RATE_LIMITS = {
    "login": "600/m/ip",
    # Failed passwords: allauth counts them per address; the per-name limits are
    # LOGIN_FAILURES_* below (accounts.adapter), so a stranger cannot lock an owner out.
    "login_failed": "200/m/ip",
    "signup": "200/m/ip",
    "reset_password": "100/m/ip,3/m/key",
    "reset_password_from_key": "100/m/ip",
    "request_login_code": "100/m/ip,3/m/key",
    "verify_phone": "1/30s/key,100/m/ip",
}
# The client's address, for every per-IP limit, is read one way (frontend.clientip):
# behind the documented proxy nginx overwrites X-Forwarded-For with the address it got
# the connection from and daphne (--proxy-headers) makes that REMOTE_ADDR and a
# socket's scope["client"]. allauth must read REMOTE_ADDR too, never the header itself:
# with a proxy count it would take an entry a client can write whenever the proxy
# appends. frontend.checks refuses other values; TRUSTED_PROXY_COUNT is no longer read.
ALLAUTH_TRUSTED_PROXY_COUNT = 0
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = None
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "SciArena"
# Roles that must sign in with a second factor (TOTP), on top of everyone with
# is_staff or is_superuser, who always must (accounts.roles, accounts.middleware).
# Teachers are not in it by default: they may turn TOTP on themselves.
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", ["organizer", "admin"])
# Wrong TOTP or recovery codes per account before every code is refused for the rest
# of the window (accounts.mfa): allauth's own count is per address only here.
MFA_FORMS = {
    "authenticate": "accounts.mfa.AuthenticateForm",
    "reauthenticate": "accounts.mfa.ReauthenticateForm",
}
MFA_FAILURES_PER_USER = int(os.environ.get("MFA_FAILURES_PER_USER", "5"))
MFA_FAILURES_WINDOW = 5 * 60

# Wrong passwords for one login name (username, email or phone) from one client
# address: LOGIN_FAILURES_PER_ADDRESS per LOGIN_FAILURES_PER_ADDRESS_WINDOW seconds,
# then that address waits. From all addresses together: LOGIN_FAILURES_PER_LOGIN per
# LOGIN_FAILURES_PER_LOGIN_WINDOW, a ceiling one address cannot reach (5 per 5 min is
# 60 an hour), that stops guessing spread over many addresses; it does not apply at an
# address the account signed in from in the last 30 days, so the owner is not locked
# out at home or at school. A right password does not count; a password reset clears
# both (accounts.adapter, docs/security.md).
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "5"))
LOGIN_FAILURES_PER_ADDRESS_WINDOW = 5 * 60
LOGIN_FAILURES_PER_LOGIN = int(os.environ.get("LOGIN_FAILURES_PER_LOGIN", "100"))
LOGIN_FAILURES_PER_LOGIN_WINDOW = 3600

SMS_BACKEND = os.environ.get("SMS_BACKEND", "accounts.sms.ConsoleSMSBackend")
# Every text passes one gate (accounts.sms) with daily caps, per local day: texts to
# one number, texts asked for from one client address (a school sending a whole
# class through phone sign-up from one address may need more), and a budget for all
# texts, with a WARNING in the log at 80 % and an ERROR at 100 %; beyond a cap
# nothing is sent and the page says "try later". No text goes to a number without
# an account, nor to a registered number someone tries to sign up with.
SMS_PER_NUMBER_PER_DAY = int(os.environ.get("SMS_PER_NUMBER_PER_DAY", "5"))
SMS_PER_IP_PER_DAY = int(os.environ.get("SMS_PER_IP_PER_DAY", "30"))
SMS_DAILY_BUDGET = int(os.environ.get("SMS_DAILY_BUDGET", "1000"))
# accounts.sms.HTTPGatewaySMSBackend: POSTs {"phone", "message"} as JSON here.
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_GATEWAY_TIMEOUT = 10
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SciArena <noreply@sciarena.localhost>")

# Guests (anonymous visitors) may play practice papers, the daily quiz, the timed
# challenge and the self-test; every start writes rows, so each session and each
# client IP (frontend.clientip) may start at most
# this many new guest papers per clock hour (quizzes.play.guest). Signed-in players are
# not limited; a school behind one address may want it higher.
GUEST_STARTS_PER_HOUR = int(os.environ.get("GUEST_STARTS_PER_HOUR", "30"))

# Wrong live-round PINs a client address (an IPv6 /64) or a session may try in a minute,
# on the pages and the sockets together (realtime.live.pins); then every PIN lookup from
# there is refused until the minute ends (HTTP 429, WebSocket close 4003). Right PINs
# never count, so a school joining one round from behind one address is not held back.
PIN_FAILURES_PER_MINUTE = int(os.environ.get("PIN_FAILURES_PER_MINUTE", "20"))

# Spreadsheet and question files (spreadsheets.limits; docs/question-format.md,
# "Limits of a file"): every import (questions, rosters, the school directory), on the
# pages and the command line alike, refuses a file beyond these with a clear message.
SPREADSHEET_MAX_UPLOAD_BYTES = int(os.environ.get("SPREADSHEET_MAX_UPLOAD_BYTES", "5242880"))
SPREADSHEET_MAX_UNPACKED_BYTES = int(os.environ.get("SPREADSHEET_MAX_UNPACKED_BYTES", "52428800"))
SPREADSHEET_MAX_ZIP_ENTRIES = int(os.environ.get("SPREADSHEET_MAX_ZIP_ENTRIES", "100"))
SPREADSHEET_MAX_XML_ELEMENTS = int(os.environ.get("SPREADSHEET_MAX_XML_ELEMENTS", "1500000"))
SPREADSHEET_MAX_XML_LOOSE_ELEMENTS = int(
    os.environ.get("SPREADSHEET_MAX_XML_LOOSE_ELEMENTS", "100000")
)
SPREADSHEET_MAX_XML_DEPTH = int(os.environ.get("SPREADSHEET_MAX_XML_DEPTH", "32"))
SPREADSHEET_MAX_ROWS = int(os.environ.get("SPREADSHEET_MAX_ROWS", "12000"))
SPREADSHEET_MAX_COLUMNS = int(os.environ.get("SPREADSHEET_MAX_COLUMNS", "64"))
SPREADSHEET_MAX_CELL_CHARS = int(os.environ.get("SPREADSHEET_MAX_CELL_CHARS", "2000"))

# Guardian consent (PIPL art. 31): the notice version a guardian agrees to, and how
# long an emailed or texted consent link stays valid.
CONSENT_NOTICE_VERSION = "2026-11"
CONSENT_LINK_MAX_AGE = 7 * 24 * 3600

# --- Internationalisation: Chinese first ---------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "frontend" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
ELDER_MODE_COOKIE_NAME = "elder_mode"

# --- Static and media ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Live rounds -----------------------------------------------------------------------
# Largest WebSocket message a client may send; daphne is started with the same cap
# (--websocket-max-message-size), and consumers check it again.
WS_MAX_MESSAGE_BYTES = int(os.environ.get("WS_MAX_MESSAGE_BYTES", "16384"))
# How WebSocket frames reach daphne's sockets (realtime.wire): "direct" (frame bytes
# handed to the socket at once), "prepared" (the same bytes through autobahn's public
# sendPreparedMessage) or "asgi" (daphne's ordinary send). All three are equivalent in
# what clients get; they differ in cost (docs/benchmarks.md).
WS_WRITE_PATH = os.environ.get("WS_WRITE_PATH", "direct")
if WS_WRITE_PATH not in ("direct", "prepared", "asgi"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("WS_WRITE_PATH must be direct, prepared or asgi")
# Origins of other sites allowed to open a WebSocket, compared with scheme and port;
# the socket's own origin always may (realtime.security.OriginCheck).
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS", [])
# 1-v-1 PK (realtime/pk/): the longest wait for an opponent, the time per question,
# the pause on each reveal and before the first question (ms). Tests shorten the pauses.
PK_WAIT_MS = int(os.environ.get("PK_WAIT_MS", "30000"))
PK_QUESTION_MS = int(os.environ.get("PK_QUESTION_MS", "15000"))
PK_REVEAL_MS = int(os.environ.get("PK_REVEAL_MS", "3000"))
PK_READY_MS = int(os.environ.get("PK_READY_MS", "3000"))

# Sessions are read from the cache (Redis when configured) and written through to the
# database: a signed-in page costs no session query (docs/benchmarks.md, "Pages").
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Security: production values whenever DEBUG is off --------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp; frontend/csp.py adds the page's own WebSocket
# origin to connect-src): scripts, styles, images and fonts from the site only, no
# inline script, handler or style attribute, no plug-ins, no framing, forms post here.
# data: images for the blank favicon (base.html) and CSS. tests/test_csp.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # HSTS starts at one day: a mistake (a subdomain still on plain HTTP, under
    # includeSubDomains; a certificate that lapses) then locks browsers out for a day,
    # not a year. Raise it to 31536000 once HTTPS is known good everywhere. Preload is
    # an explicit opt-in: a preload-list entry takes months to undo, and the list
    # wants max-age of a year (frontend.checks warns about preload with less).
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Django warns whenever preload is off (security.W021); off is the decision above.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Logging: no personal data in logs ------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
