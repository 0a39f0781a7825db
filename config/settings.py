"""Settings, read from the environment (docs/reference.md); every default works with no server."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tuning import chosen

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


DEBUG = env_bool("DJANGO_DEBUG", False)

DATA_DIR = Path(os.environ.get("EVENTBANK_DATA_DIR") or BASE_DIR / "var").resolve()

# --- Tuning ----------------------------------------------------------------------------------
# The speed-ups of the tuning package that this process uses: all of them by default, none
# with EVENTBANK_TUNING=off (the system on the libraries' own defaults), or those named.
# Each setting below that names a tuning class is chosen here; config/container.py applies
# the applications' ones.

TUNING = chosen(os.environ.get("EVENTBANK_TUNING", "on"))


def tuned(module: str, tuned_name: str, plain_name: str) -> str:
    """The dotted name of ``module``'s replacement when it is chosen, else the plain one's."""
    return tuned_name if module in TUNING else plain_name


_secret_key = os.environ.get("DJANGO_SECRET_KEY", "")
if not _secret_key:
    if not DEBUG and os.environ.get("EVENTBANK_REQUIRE_SECRET_KEY") == "1":
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    # A per-installation key kept in the data dir: never in the repository, stable across restarts.
    from config.secret import local_secret_key

    _secret_key = local_secret_key(DATA_DIR)
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "ops.apps.EventbankAdminConfig",  # django.contrib.admin, with the operations pages
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "strawberry_django",  # its export_schema command writes schema.graphql
    "ops",
    "api",
    "messaging",
    "ledger",
    "orders",
    "compliance",
    "customers",
    "projections",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.CorrelationMiddleware",
    "api.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------
# Django's own tables (auth, projections, positions, dead letters, idempotency keys).

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'eventbank.sqlite3'}"
_default_db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    # Web, relay and subscribers share the file: WAL lets readers run beside the one writer,
    # IMMEDIATE takes the write lock up front (no deadlocking upgrades), and the timeout turns
    # a held lock into a clear OperationalError instead of a hang. secure_delete zeroes what a
    # change frees, so a destroyed data key (customers/keys.py) leaves no copy in the file;
    # some builds of SQLite do so by default, not all.
    _default_db["CONN_MAX_AGE"] = 0
    _default_db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
        ),
    }
else:
    _default_db.setdefault("OPTIONS", {})["connect_timeout"] = 5
if _default_db["ENGINE"] == "django.db.backends.postgresql":
    _default_db["ENGINE"] = tuned("database", "tuning.database", "django.db.backends.postgresql")
DATABASES = {"default": _default_db}

# A streaming standby of that database (PostgreSQL only), for what clients read of the
# projections: the primary's options (its URL's own, such as sslmode, added), its own host.
# config/routers.py decides which reads go there; without it every query goes to the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    if _default_db["ENGINE"] == "django.db.backends.sqlite3" or not DATABASE_REPLICA_URL.startswith(
        ("postgres://", "postgresql://")
    ):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL names a PostgreSQL standby of DATABASE_URL's PostgreSQL database"
        )
    _replica_db = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True
    )
    DATABASES["replica"] = {
        **_replica_db,
        "ENGINE": _default_db["ENGINE"],
        "OPTIONS": {**_default_db["OPTIONS"], **_replica_db.get("OPTIONS", {})},
    }
    DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
# After the replica failed to answer, reads go to the primary for this long before the replica
# is tried again (a client of a bank should still read while a standby is away).
REPLICA_RETRY_SECONDS = float(os.environ.get("EVENTBANK_REPLICA_RETRY_SECONDS", "5"))
# /healthz says the replica is not ok past this lag (it stays 200: reads fall back or wait).
MAX_REPLICA_LAG_SECONDS = float(os.environ.get("EVENTBANK_MAX_REPLICA_LAG", "30"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Event stores -------------------------------------------------------------------------------
# One store per bounded context. Unset: alongside DATABASE_URL — the same PostgreSQL database
# (tables ledger_events, orders_events, compliance_events, customers_events), or one SQLite
# file per context.

EVENT_STORE_CONTEXTS = ("ledger", "orders", "compliance", "customers")


def _default_event_store_url(context: str) -> str:
    if DATABASE_URL.startswith(("postgres://", "postgresql://")):
        return DATABASE_URL
    return f"sqlite:///{DATA_DIR / f'{context}.sqlite3'}"


EVENT_STORE_URLS = {
    context: os.environ.get(f"{context.upper()}_EVENTSTORE_URL")
    or _default_event_store_url(context)
    for context in EVENT_STORE_CONTEXTS
}

# --- NATS ----------------------------------------------------------------------------------
# Unset NATS_URL: `run_all` starts a local nats-server in NATS_EMBEDDED_DIR and passes its URL
# to its children; commands started on their own find it there (messaging.connection.nats_url).
# On a cluster NATS_URL lists its servers, comma-separated: a client connects to any and moves
# to another when that one goes away.

NATS_URL = os.environ.get("NATS_URL", "")
# How many nodes hold the stream (its num_replicas): 1 on one server, 3 on a 3-node cluster.
STREAM_REPLICAS = int(os.environ.get("EVENTBANK_STREAM_REPLICAS", "1"))
NATS_EMBEDDED_DIR = DATA_DIR / "nats"
NATS_STREAM = os.environ.get("EVENTBANK_NATS_STREAM", "EVENTBANK")
SUBJECT_PREFIX = os.environ.get("EVENTBANK_SUBJECT_PREFIX", "eventbank")
NATS_CONNECT_TIMEOUT = float(os.environ.get("EVENTBANK_NATS_CONNECT_TIMEOUT", "2"))
# TLS (messaging/connection.py): the CA that signed the server's certificate, the client's own
# certificate and key when the server verifies clients, and whether to open with the handshake.
NATS_TLS_CA = os.environ.get("EVENTBANK_NATS_TLS_CA", "")
NATS_TLS_CERT = os.environ.get("EVENTBANK_NATS_TLS_CERT", "")
NATS_TLS_KEY = os.environ.get("EVENTBANK_NATS_TLS_KEY", "")
NATS_TLS_HANDSHAKE_FIRST = env_bool("EVENTBANK_NATS_TLS_HANDSHAKE_FIRST", False)

# --- Operations ----------------------------------------------------------------------------
# /healthz answers 503 when a subscriber is more than this many events behind a source it
# consumes. /metrics answers staff sessions, and `Authorization: Bearer <token>` if one is set.

MAX_SUBSCRIBER_LAG = int(os.environ.get("EVENTBANK_MAX_LAG", "1000"))
METRICS_TOKEN = os.environ.get("EVENTBANK_METRICS_TOKEN", "")

# --- Sagas ---------------------------------------------------------------------------------

SAGA_DEADLINE_SECONDS = int(os.environ.get("EVENTBANK_SAGA_DEADLINE_SECONDS", "60"))
SAGA_RECOVERY_INTERVAL_SECONDS = float(os.environ.get("EVENTBANK_SAGA_RECOVERY_INTERVAL", "10"))
SAGA_RECOVERY_OLDER_THAN_SECONDS = float(os.environ.get("EVENTBANK_SAGA_RECOVERY_OLDER_THAN", "30"))

# --- Demo ----------------------------------------------------------------------------------
# `run_all` seeds the demo (ops/demo.py) when this is on and the database has no users at
# all. Off unless asked for: `make run` turns it on; a production deployment never should.

SEED_DEMO = env_bool("EVENTBANK_SEED_DEMO", False)

# --- Read models ---------------------------------------------------------------------------

READ_YOUR_WRITES_TIMEOUT_SECONDS = float(os.environ.get("EVENTBANK_READ_YOUR_WRITES_TIMEOUT", "5"))
# How many requests of one web process may wait for a projection at once (each holds one of
# its WEB_THREADS threads): any more answer 503 projection_behind without waiting.
READ_YOUR_WRITES_MAX_WAITING = int(os.environ.get("EVENTBANK_READ_YOUR_WRITES_MAX_WAITING", "2"))

# --- Live updates (GET /api/live/) -----------------------------------------------------------
# A comment line this often keeps a quiet stream open through proxies, and shows a client that
# went away. Each stream holds at most LIVE_QUEUE events not yet sent: one that falls that far
# behind is ended (its client reconnects with Last-Event-ID). A web process serves at most
# LIVE_STREAMS_PER_USER streams to one user and LIVE_STREAMS_PER_WORKER in all.

LIVE_HEARTBEAT_SECONDS = float(os.environ.get("EVENTBANK_LIVE_HEARTBEAT_SECONDS", "15"))
LIVE_QUEUE = int(os.environ.get("EVENTBANK_LIVE_QUEUE", "1000"))
LIVE_STREAMS_PER_USER = int(os.environ.get("EVENTBANK_LIVE_STREAMS_PER_USER", "5"))
LIVE_STREAMS_PER_WORKER = int(os.environ.get("EVENTBANK_LIVE_STREAMS_PER_WORKER", "500"))

# --- Web server ----------------------------------------------------------------------------
# The threads of a web process that run requests (``ops.web_server --threads`` sets it for its
# workers), and how long a request's body may take to arrive before it is refused with 408:
# the body is read whole before a thread takes the request (config/asgi.py).

WEB_THREADS = int(os.environ.get("EVENTBANK_WEB_THREADS", "4"))
REQUEST_BODY_TIMEOUT_SECONDS = float(os.environ.get("EVENTBANK_REQUEST_BODY_TIMEOUT", "10"))

# --- Compliance ----------------------------------------------------------------------------
# The risk rules' thresholds (compliance/rules.py, RuleSettings): amounts in cents, windows in
# seconds. These are the defaults docs/reference.md gives.

COMPLIANCE_RULES = {
    "large_transfer_cents": 10_000_00,
    "daily_limit_cents": 15_000_00,
    "velocity_count": 5,
    "velocity_window_seconds": 10 * 60,
    "structuring_count": 3,
    "structuring_window_seconds": 24 * 60 * 60,
    "structuring_band_cents": (9_000_00, 9_999_99),
}

# --- Money ---------------------------------------------------------------------------------

DEFAULT_CURRENCY = "EUR"
MAX_AMOUNT_CENTS = 1_000_000_000_00  # one thousand million per movement

# --- Auth, API -----------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        tuned(
            "token_auth",
            "tuning.token_auth.TokenAuthentication",
            "rest_framework.authentication.TokenAuthentication",
        ),
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.ExactJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": tuned(
        "negotiation",
        "tuning.negotiation.FirstRendererNegotiation",
        "rest_framework.negotiation.DefaultContentNegotiation",
    ),
    "DEFAULT_RENDERER_CLASSES": (
        ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"]
    ),
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.exception_handlers.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        tuned(
            "throttle",
            "tuning.throttle.SteadyWriteRateThrottle",
            "api.throttling.WriteRateThrottle",
        )
    ],
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("EVENTBANK_AUTH_RATE", "20/min"),  # per client, per username
        "writes": os.environ.get("EVENTBANK_WRITE_RATE", "600/min"),
    },
    # A client is its address. X-Forwarded-For is believed only as far as the proxies in front
    # of the server (EVENTBANK_NUM_PROXIES): with none, a client could name itself anything and
    # escape every per-client throttle.
    "NUM_PROXIES": int(os.environ.get("EVENTBANK_NUM_PROXIES", "0")),
}

# How request bodies are validated and answers rendered (api/serializers.py).
EVENTBANK_SERIALIZATION = tuned(
    "serializers", "tuning.serializers.SharedSerializers", "api.serializers.PerRequestSerializers"
)
# How a subscriber fetches a batch of deliveries (messaging/subscriber.py).
EVENTBANK_FETCH = tuned("fetch", "tuning.fetch.fetch_ready_first", "messaging.subscriber.fetch")
# How a projector inserts new rows (projections/projectors.py).
EVENTBANK_INSERT_NEW = tuned(
    "copy_loader", "tuning.copy_loader.insert_by_copy", "projections.projectors.insert_with_orm"
)

SPECTACULAR_SETTINGS = {
    "TITLE": "eventbank API",
    "DESCRIPTION": "Accounts, transfers, orders and compliance of an event-sourced bank.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # the default
        "api.schema.add_links",
    ],
}

# JSON bodies here are small (a batch of 1,000 transfers is the largest): refuse bigger early.
DATA_UPLOAD_MAX_MEMORY_SIZE = 512 * 1024

# --- Internationalisation, static files ----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves the admin's and Swagger UI's assets from the installed packages, so the
# docs work offline with no collectstatic step and no CDN.
WHITENOISE_USE_FINDERS = True

# --- Production safety (DJANGO_DEBUG off) --------------------------------------------------

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    SESSION_COOKIE_HTTPONLY = True
    # Behind TLS in production; `make run` on 127.0.0.1 serves plain HTTP and opts out.
    _behind_tls = env_bool("EVENTBANK_BEHIND_TLS", True)
    SESSION_COOKIE_SECURE = _behind_tls
    CSRF_COOKIE_SECURE = _behind_tls
    SECURE_SSL_REDIRECT = _behind_tls and env_bool("EVENTBANK_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31_536_000 if _behind_tls else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _behind_tls
    SECURE_HSTS_PRELOAD = _behind_tls
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# --- Logging ---------------------------------------------------------------------------------
# One JSON object a line in production; the readable line while debugging. Both carry the
# request's correlation id (api/logging.py).

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "api.logging.CorrelationFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
        "json": {"()": "api.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": "plain" if DEBUG else "json",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("EVENTBANK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
