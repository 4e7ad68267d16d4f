"""stockd settings, read entirely from the environment (and an optional .env file).

With no DATABASE_URL the app runs on SQLite under VAR_DIR; with no REDIS_URL it caches in
the database (a table every worker process shares). See docs/operations.md for every variable.
"""

import ipaddress
import zoneinfo
from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from core.rates import parse_rate
from stockd.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a local development key).")
    SECRET_KEY = "django-insecure-local-development-key-only-for-debug"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Local state of the embedded default: the SQLite database and Celery beat's schedule file.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "idempotency",
    "warehouses",
    "inventory",
    "sales",
    "reservations",
    "transfers",
    "integrations",
    "storefront",
    "accounts",
    "console",
    "payments",
    "core",
]

MIDDLEWARE = [
    # First: the request id is current, and the duration measured, for everything below.
    "core.serving.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Directly after SecurityMiddleware, as ServeStatic asks. It is async-only: under ASGI
    # everything above it runs on the event loop, everything below it on the request's thread.
    "servestatic.middleware.ServeStaticMiddleware",
    # The requests Django answers, timed and counted from here to PrometheusAfterMiddleware
    # (static files are counted by RequestLogMiddleware's log line only).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Above all that can raise below: with DEBUG on, errors still answer JSON under /api/ and
    # the designed pages elsewhere, not Django's technical pages (core/error_handlers.py).
    "core.error_handlers.ErrorPagesMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.serving.middleware.RequestFramingMiddleware",
    # Above sessions and auth: a database fault anywhere below it answers 503
    # (core/serving/dbfaults.py).
    "core.serving.dbfaults.DatabaseFaultMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "reservations.middleware.ReservationMetricsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last: the chain from ServeStatic down to the view is one call on the request's thread
    # (core/serving/middleware.py, OnRequestThreadMiddleware).
    "core.serving.middleware.OnRequestThreadMiddleware",
]

ROOT_URLCONF = "stockd.urls"
WSGI_APPLICATION = "stockd.wsgi.application"
ASGI_APPLICATION = "stockd.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "storefront.context_processors.header",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL runs at READ COMMITTED (Django's default) behind Django's psycopg 3 pool, kept
# small: more connections than cores only queue on a hot row's lock (docs/decisions.md).
# SQLite has no row locks, so every transaction opens with BEGIN IMMEDIATE: writers are
# serialized, WAL lets readers go on, and the busy timeout makes writers wait, not fail.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Health checks test a connection before it is used and replace a dead one, so a database
    # restart or failover costs no request (docs/operations.md). Pooled databases have the
    # backend's own check instead of CONN_HEALTH_CHECKS (below).
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "stockd.sqlite3"}
    }

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 2, minimum=1),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
    }
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # SQLite cannot make "one sale policy per product and channel" (a unique constraint with
    # NULLs not distinct); the sales services keep it there, writing under the product's lock.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]

# A streaming replica of the primary for reads that may lag (the public catalogue and the
# warehouse list), named one by one with core.serving.replicas.database_for; every other read and
# every write stays on the primary (stockd/routers.py, docs/decisions.md).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=0, conn_health_checks=True
    )
    DATABASES["replica"]["OPTIONS"] = {
        **{k: v for k, v in _db.get("OPTIONS", {}).items() if k == "pool"},
        "connect_timeout": env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 3, minimum=1),
    }
    # Tests see the replica as the primary itself (Django creates no test database there).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["stockd.routers.PrimaryReplicaRouter"]
# stockd's backend (core.serving.postgresql): django-prometheus' (Django's PostgreSQL backend, pool
# included, counting queries, their errors and durations for /metrics), whose pool checks a
# connection as it lends it and, finding one dead, replaces every idle one at once; that
# check replaces CONN_HEALTH_CHECKS, whose check backs off a second per dead connection.
# Swapped in last, after the checks above.
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database["ENGINE"] = "core.serving.postgresql"
        if _database.get("OPTIONS", {}).get("pool"):
            _database["CONN_HEALTH_CHECKS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                # Redis down: every cache call answers a miss (None) and logs the error, so the
                # app runs on PostgreSQL alone, which all correctness rests on.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    # Every worker process shares it (a process's own memory would give each its own rate
    # limits and idempotency answers); core.apps creates its table after every migrate.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "stockd_cache",
        }
    }
# Keeps apart deployments (or test runs) that share one cache server.
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX")
# Rendered page fragments that may lag the database by CATALOGUE_CACHE_SECONDS (the
# catalogue's list and header): each process keeps its own, so a page reads them without a
# round trip to Redis. Nothing here is shared state; a miss renders the fragment again.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "stockd-fragments",
    "OPTIONS": {"MAX_ENTRIES": 1000},
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
# With no broker (the embedded default) tasks run eagerly, in the process that sends them.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL == "memory://")
CELERY_IMPORTS = ["reservations.notifications", "integrations.tasks"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Deployments (or test runs) sharing one broker keep apart on queues of their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
EXPIRY_SWEEP_INTERVAL_SECONDS = env_int("EXPIRY_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
# --- Outbound events (integrations): the dispatcher's pass, and webhook deliveries.
EVENT_DISPATCH_INTERVAL_SECONDS = env_int("EVENT_DISPATCH_INTERVAL_SECONDS", 1, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
# A failed delivery waits about this long, then twice as long after each further failure.
WEBHOOK_RETRY_BASE_MS = env_int("WEBHOOK_RETRY_BASE_MS", 1000, minimum=1)
WEBHOOK_RETRY_HOURS = env_int("WEBHOOK_RETRY_HOURS", 24, minimum=1)
# Webhook URLs may point at loopback, private or link-local addresses only when this is set.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
CELERY_BEAT_SCHEDULE = {
    "expire-due-reservations": {
        "task": "reservations.tasks.expire_due_reservations",
        "schedule": float(EXPIRY_SWEEP_INTERVAL_SECONDS),
    },
    # Asked twice per interval: a pass runs when the last one is an interval old, so a late
    # tick costs half an interval, not a whole one.
    "dispatch-events": {
        "task": "integrations.tasks.dispatch_events",
        "schedule": EVENT_DISPATCH_INTERVAL_SECONDS / 2,
    },
    "purge-idempotency-keys": {
        "task": "idempotency.tasks.purge_expired_keys",
        "schedule": 3600.0,
    },
}

# --- Reservations ---------------------------------------------------------------------------
RESERVATION_TTL_SECONDS = env_int("RESERVATION_TTL_SECONDS", 600, minimum=1)
# GET /api/products renders each distinct answer at most once per this many seconds, shared by
# every worker through the cache; 0 renders every request. More than 1 lets the catalogue's
# stock lag a change by that long.
CATALOGUE_CACHE_SECONDS = env_int("CATALOGUE_CACHE_SECONDS", 1, minimum=0)
MAX_QUANTITY_PER_RESERVATION = env_int("MAX_QUANTITY_PER_RESERVATION", 100, minimum=1)
# The console alerts on stock rows with this many available units or fewer (per row overridable).
LOW_STOCK_THRESHOLD = env_int("LOW_STOCK_THRESHOLD", 3, minimum=0)
IDEMPOTENCY_WAIT_SECONDS = env_int("IDEMPOTENCY_WAIT_SECONDS", 10, minimum=1)
# Coalesced holds (reservations/coalescer.py): concurrent holds on one stock row share one
# statement and one commit, over a small pool of the coalescer's own connections per process.
# PostgreSQL only: SQLite has no row locks to wait on, and no second connection to batch on.
HOLD_COALESCING = env_bool("HOLD_COALESCING", True) and _db["ENGINE"].endswith("postgresql")
HOLD_POOL_SIZE = env_int("HOLD_POOL_SIZE", 2, minimum=1)
HOLD_BATCH_MAX = env_int("HOLD_BATCH_MAX", 256, minimum=1)
# A hold answered sold out releases its row's due holds first, at most once per row per this
# interval. REFUSAL_SWEEP_INTERVAL_MS is its name before issue 24, still read.
SOLD_OUT_SWEEP_INTERVAL_MS = env_int(
    "SOLD_OUT_SWEEP_INTERVAL_MS", env_int("REFUSAL_SWEEP_INTERVAL_MS", 1000)
)
# Absolute links in emails (a promoted waitlist entry's checkout page).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# GET /api/cron/expire answers 401 to everyone while CRON_SECRET is empty.
CRON_SECRET = env_str("CRON_SECRET")
# POST /api/payments/webhook checks Stockd-Signature against this secret (and, while it is
# being rotated, the previous one); while it is empty every call is refused with 403.
PAYMENT_WEBHOOK_SECRET = env_str("PAYMENT_WEBHOOK_SECRET")
PAYMENT_WEBHOOK_PREVIOUS_SECRET = env_str("PAYMENT_WEBHOOK_PREVIOUS_SECRET")

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
STOCKD_ADMIN_EMAIL = "admin@stockd.com"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "orders"
LOGOUT_REDIRECT_URL = "home"
STOCKD_ADMIN_PASSWORD = env_str("STOCKD_ADMIN_PASSWORD")

# --- Email ----------------------------------------------------------------------------------
# EMAIL_URL (e.g. smtp://user:password@smtp.example.com:587/?tls=True) or the console backend,
# which prints each message to the log.
EMAIL_URL = env_str("EMAIL_URL")
if EMAIL_URL:
    _email = dj_email_url.parse(EMAIL_URL)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST, EMAIL_PORT = _email["EMAIL_HOST"], _email["EMAIL_PORT"]
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_USER"], _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS, EMAIL_USE_SSL = _email["EMAIL_USE_TLS"], _email["EMAIL_USE_SSL"]
    EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "stockd <no-reply@stockd.local>")

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The shop's time zone: every time a person reads (pages, the console, emails) is shown in it,
# with the zone's name. Stored times stay in UTC (USE_TZ).
TIME_ZONE = env_str("TIME_ZONE", "Asia/Kolkata")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not an IANA zone, e.g. Asia/Kolkata.")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
# ServeStatic (WhiteNoise's ASGI-native fork) serves static files in every mode, from the
# finders. Vendored files carry their version in their names, so plain (non-manifest) storage
# is enough and no collectstatic is needed to run.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
SERVESTATIC_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}

# --- Rate limits (docs/api.md, "Rate limits") -----------------------------------------------
# "<count>/<period>" ("60/m", "5/5m"); empty turns a limit off. Reserve and batch requests per
# client (the signed-in user, else the client IP); failed sign-ins per client IP and per
# username, one count for the storefront, the console and the staff API.
RESERVE_RATE_LIMIT = env_str("RESERVE_RATE_LIMIT", "60/m").strip()
LOGIN_RATE_LIMIT = env_str("LOGIN_RATE_LIMIT", "5/5m").strip()
for _name in ("RESERVE_RATE_LIMIT", "LOGIN_RATE_LIMIT"):
    try:
        parse_rate(globals()[_name])
    except ValueError as error:
        raise ImproperlyConfigured(f"{_name}: {error}") from None
# Proxies in front that append the client's address to X-Forwarded-For (DRF's NUM_PROXIES)
# and say the browser's host and scheme in X-Forwarded-Host and X-Forwarded-Proto. With 0 the
# three headers are ignored: REMOTE_ADDR is the client and Host the site, so no client can
# name its own address or this site's origin.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
USE_X_FORWARDED_HOST = TRUSTED_PROXIES > 0

# --- REST framework and OpenAPI -------------------------------------------------------------
# Holds made with a sales channel's API key belong to that channel (reservations.channels).
CHANNEL_KEY_AUTHENTICATION = "integrations.authentication.ApiKeyAuthentication"
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    # DRF's session auth with one cross-origin rule instead of its CSRF token (core.cross_origin).
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.cross_origin.OriginCheckedSession"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.error_handlers.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "stockd API",
    "DESCRIPTION": "Multi-warehouse inventory reservations: catalogue, holds, carts, waitlist.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A transfer's state and a sale's state are both called `state`: name each set.
    "ENUM_NAME_OVERRIDES": {"TransferStateEnum": "transfers.models.Transfer.State"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.document_bad_input",  # every operation taking input documents its 400
    ],
}

# --- Security -------------------------------------------------------------------------------
HTTPS_ONLY = env_bool("HTTPS_ONLY", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_HSTS_SECONDS = 31536000 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "core.error_handlers.csrf_failure"
# Content Security Policy (django-csp), in every mode: scripts, styles, images, fonts and
# connections (htmx, the live stock stream) from this site only; no inline script or style
# (JavaScript lives in static/js/; json_script data blocks are not executed, so they pass);
# data: images for Pico's inline SVG icons; no plugins, no framing, forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Metrics and logs -----------------------------------------------------------------------
# GET /metrics answers a scrape with `Authorization: Bearer <METRICS_TOKEN>` or from an address
# in METRICS_ALLOWED_NETWORKS (CIDRs; loopback by default), others 403; with neither set, 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = tuple(env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"]))
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network (e.g. 10.0.0.0/8)."
        ) from None
# One line per request and per state change: JSON objects with LOG_FORMAT=json, else text.
LOG_FORMAT = env_str("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "stockd": {"()": "core.serving.logging.StockdFormatter", "as_json": LOG_FORMAT == "json"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "stockd"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# The Celery worker logs through LOGGING too (same format, with the task id), not its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
