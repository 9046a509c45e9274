"""Settings of an organization's backend, all from the environment (docs/backend.md lists them).

With no configuration at all it runs embedded: a SQLite file and filesystem storage under
BACKEND_DATA_DIR (`.backend/` in the working directory), organization `MyOrg1MSP`, one channel
`mychannel`, a secret key made on first start and kept in the data directory.
"""

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from backend import __version__
from backend.env import env_bool, env_db, env_int, env_json, env_list, env_str, env_text
from orchestrator_client.logs import logging_config

DATA_DIR = Path(env_str("BACKEND_DATA_DIR", str(Path.cwd() / ".backend"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# The organization

ORG_ID = env_str("BACKEND_ORG_ID", "MyOrg1MSP")
ORG_NAME = env_str("BACKEND_ORG_NAME", ORG_ID)
VERSION = __version__
# The orchestrator has no version call: it ships from this repository, at this release.
ORCHESTRATOR_VERSION = env_str("ORCHESTRATOR_VERSION", __version__)
# Base URL other organizations and the SDK reach this backend at; file addresses are built on it.
# Empty: taken from each request (fine on one machine, wrong behind a proxy that rewrites hosts).
PUBLIC_URL = env_str("BACKEND_PUBLIC_URL", "").rstrip("/")
# The API (and the admin) under a path such as `/api`, when the web frontend is served from `/` of
# the same origin: its routes (`/users`, `/tasks`) collide with the API's. Empty: at the root.
URL_PREFIX = ("/" + env_str("BACKEND_URL_PREFIX", "").strip("/")).rstrip("/")

CHANNEL_OPTIONS = {"model_export_enabled": False, "restricted": False}


def _channels(raw) -> dict[str, dict[str, bool]]:
    """{"name": {"model_export_enabled": bool, "restricted": bool}}; both keys optional."""
    if not isinstance(raw, dict) or not raw:
        raise ImproperlyConfigured("BACKEND_CHANNELS must be a non-empty JSON object")
    channels = {}
    for name, options in raw.items():
        options = options or {}
        unknown = set(options) - set(CHANNEL_OPTIONS)
        if not name or unknown or not all(isinstance(value, bool) for value in options.values()):
            raise ImproperlyConfigured(f"BACKEND_CHANNELS: bad channel {name!r} (options {sorted(CHANNEL_OPTIONS)})")
        channels[name] = {**CHANNEL_OPTIONS, **options}
    return channels


CHANNELS = _channels(env_json("BACKEND_CHANNELS", {"mychannel": {}}))

# Tokens and uploads

TOKEN_TTL_HOURS = env_int("BACKEND_TOKEN_TTL_HOURS", 24)

# The web frontend's sessions (substrapp/websessions.py): short access tokens, each sent as a
# readable `header.payload` cookie and an HttpOnly `signature` cookie, renewed with an HttpOnly
# refresh token that is revoked as soon as it is used.
JWT_ACCESS_MINUTES = env_int("BACKEND_JWT_ACCESS_MINUTES", 15)
JWT_REFRESH_HOURS = env_int("BACKEND_JWT_REFRESH_HOURS", TOKEN_TTL_HOURS)
# Unset: the cookies belong to the host the browser called. Secure: sent over HTTPS only (set it
# in production). SameSite=None (with Secure) lets a frontend on another site send them.
JWT_COOKIE_DOMAIN = env_str("BACKEND_JWT_COOKIE_DOMAIN", "") or None
JWT_COOKIE_SECURE = env_bool("BACKEND_JWT_COOKIE_SECURE", False)
JWT_COOKIE_SAMESITE = env_str("BACKEND_JWT_COOKIE_SAMESITE", "Lax")
if JWT_COOKIE_SAMESITE not in ("Lax", "Strict", "None"):
    raise ImproperlyConfigured("BACKEND_JWT_COOKIE_SAMESITE must be Lax, Strict or None")
if JWT_COOKIE_SAMESITE == "None" and not JWT_COOKIE_SECURE:
    raise ImproperlyConfigured("BACKEND_JWT_COOKIE_SAMESITE=None needs BACKEND_JWT_COOKIE_SECURE=true")
# A web frontend on another origin: the origins allowed to call with the user's cookies.
CORS_ALLOWED_ORIGINS = env_list("BACKEND_CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True
UPLOAD_MAX_BYTES = env_int("BACKEND_UPLOAD_MAX_BYTES", 1024**3)
# Files fetched from their owner (models, archives, openers): a task's model may be many times a
# user's upload; the bound only stops a peer that never ends a transfer from filling the disk.
PEER_FILE_MAX_BYTES = env_int("BACKEND_PEER_FILE_MAX_BYTES", 64 * 1024**3)
# docs/sdk-contract.md §11: a batch of tasks arrives as one JSON body (10,000 tasks are about
# 10 MB), and linking data samples sends one form field per sample.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("BACKEND_REQUEST_MAX_MEMORY_BYTES", 100 * 1024**2)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("BACKEND_REQUEST_MAX_FIELDS", 1_000_000)

# Files (docs/backend.md, "Files"): archives users upload, data already on this server.

ARCHIVE_MAX_EXPANDED_BYTES = env_int("BACKEND_ARCHIVE_MAX_EXPANDED_BYTES", 10 * 1024**3)
ARCHIVE_MAX_MEMBERS = env_int("BACKEND_ARCHIVE_MAX_MEMBERS", 100_000)


def _server_data_roots(roots: list[str]) -> list[str]:
    relative = [root for root in roots if not os.path.isabs(root)]
    if relative:
        raise ImproperlyConfigured(f"BACKEND_SERVER_DATA_ROOTS: roots must be absolute paths, not {relative}")
    return roots


SERVER_DATA_ROOTS = _server_data_roots(env_list("BACKEND_SERVER_DATA_ROOTS", []))

# The orchestrator (substrapp/orchestration.py): PEM files for mutual TLS.

ORCHESTRATOR_ADDRESS = env_str("ORCHESTRATOR_ADDRESS", "")
ORCHESTRATOR_TLS_CA = env_str("ORCHESTRATOR_TLS_CA", "")
ORCHESTRATOR_TLS_CERT = env_str("ORCHESTRATOR_TLS_CERT", "")
ORCHESTRATOR_TLS_KEY = env_str("ORCHESTRATOR_TLS_KEY", "")
ORCHESTRATOR_SERVER_NAME = env_str("ORCHESTRATOR_SERVER_NAME", "")

# Compute (docs/compute.md): the Celery broker, the worker's folders, cache and containers.

# Redis in production; with none set, kombu's filesystem transport under the data directory
# (the embedded mode needs no server).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(DATA_DIR / "broker"),
        "data_folder_out": str(DATA_DIR / "broker"),
        "control_folder": str(DATA_DIR / "broker" / "control"),
        # Files are polled: every 1 s by default, which a 50-task plan pays on every step. At
        # 20 ms a hand-over waits 10 ms on average for a listdir of an idle worker's queues.
        "polling_interval": env_int("CELERY_BROKER_POLLING_MS", 20) / 1000,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    (DATA_DIR / "broker" / "control").mkdir(parents=True, exist_ok=True)
    # kombu's transport, with messages written atomically (backend/broker.py).
    CELERY_BROKER_TRANSPORT = "backend.broker:Transport"
# Tasks of every channel share one FIFO queue per organization (the seed's "multiple tasks
# from different channels"); image builds have their own, so a long build holds no task back.
COMPUTE_QUEUE = env_str("COMPUTE_QUEUE", f"{ORG_ID}.compute")
BUILD_QUEUE = env_str("COMPUTE_BUILD_QUEUE", f"{ORG_ID}.builds")
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 1)
COMPUTE_DIR = Path(env_str("COMPUTE_DIR", str(DATA_DIR / "compute"))).resolve()
COMPUTE_CACHE_MAX_BYTES = env_int("COMPUTE_CACHE_MAX_BYTES", 10 * 1024**3)
# "docker", "subprocess" (no isolation: a single machine without Docker), or "auto": Docker
# when a daemon answers, else the subprocess executor with its warning.
COMPUTE_EXECUTOR = env_str("COMPUTE_EXECUTOR", "auto")
# A label on this organization's task containers (devnet: its network id, for `down`).
COMPUTE_INSTANCE = env_str("COMPUTE_INSTANCE", "")
COMPUTE_MEMORY_BYTES = env_int("COMPUTE_MEMORY_BYTES", 4 * 1024**3)
COMPUTE_CPUS = float(env_str("COMPUTE_CPUS", "0") or 0)
COMPUTE_PIDS_LIMIT = env_int("COMPUTE_PIDS_LIMIT", 1024)
COMPUTE_GPUS = env_bool("COMPUTE_GPUS", False)
COMPUTE_BUILD_TIMEOUT_SECONDS = env_int("COMPUTE_BUILD_TIMEOUT_SECONDS", 1800)
COMPUTE_TASK_TIMEOUT_SECONDS = env_int("COMPUTE_TASK_TIMEOUT_SECONDS", 24 * 3600)
# A worker running a task renews its lease this often; a lease this old belongs to a dead worker.
COMPUTE_LEASE_SECONDS = env_int("COMPUTE_LEASE_SECONDS", 20)
# Each worker looks for owed work that nothing holds this often (substrapp/reconcile.py).
COMPUTE_RECONCILE_SECONDS = env_int("COMPUTE_RECONCILE_SECONDS", 5)
# Infrastructure errors (an owner or the engine away) are retried this many times, with backoff.
COMPUTE_MAX_RETRIES = env_int("COMPUTE_MAX_RETRIES", 5)

# Django


def _secret_key() -> str:
    """BACKEND_SECRET_KEY(_FILE), else one made once and kept in the data directory."""
    key = env_text("BACKEND_SECRET_KEY").strip()
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Written aside then linked in: processes starting together all read one whole key.
        draft = DATA_DIR / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(50))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("BACKEND_DEBUG", False)
_public_host = urlsplit(PUBLIC_URL).hostname
ALLOWED_HOSTS = env_list("BACKEND_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", *filter(None, [_public_host])])
CSRF_TRUSTED_ORIGINS = env_list("BACKEND_CSRF_TRUSTED_ORIGINS", [PUBLIC_URL] if PUBLIC_URL else [])
# Behind a proxy: absolute links (pagination `next`) must name the host and scheme the client used.
USE_X_FORWARDED_HOST = env_bool("BACKEND_USE_X_FORWARDED_HOST", False)
if env_bool("BACKEND_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "corsheaders",
    "rest_framework_simplejwt.token_blacklist",
    "substrapp",
    "console",
]

MIDDLEWARE = [
    # First: a preflight (OPTIONS) is answered here, before any check that needs credentials.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every request counted and timed by its route (substrapp/metrics.py), refused ones included.
    "substrapp.metrics.RequestMetricsMiddleware",
    # The console's CSS and JavaScript (and the admin's), straight from the apps' static folders:
    # the embedded default and the devnet serve them without a collectstatic step.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "substrapp.middleware.RequestSizeLimitMiddleware",
    "substrapp.middleware.StorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "substrapp.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

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
                "console.context.console",
            ],
        },
    },
]

DATABASES = {"default": env_db("BACKEND_DATABASE_URL", f"sqlite:///{DATA_DIR / 'backend.sqlite3'}")}
# A kept connection is checked before a request (or a Celery task) uses it: after a PostgreSQL
# restart every kept connection is dead, and a request must not be the one to find out.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue on SQLite's single lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
else:
    # A database that does not answer fails a request in seconds (a 503), not after minutes.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("BACKEND_DATABASE_CONNECT_TIMEOUT", 5)
    # BACKEND_DATABASE_POOL_SIZE > 0: the process's connections come from a pool of at most that
    # many (psycopg_pool), which shrinks back to BACKEND_DATABASE_POOL_MIN_SIZE when idle; a
    # request waits up to BACKEND_DATABASE_POOL_TIMEOUT seconds for a free one. The API server
    # sets it (docker/gunicorn.conf.py: one connection per thread). Not for Celery's prefork
    # workers: a pool opened before the fork would be shared with the children.
    # 0: each thread keeps its own connection BACKEND_DATABASE_CONN_MAX_AGE seconds.
    DATABASE_POOL_SIZE = env_int("BACKEND_DATABASE_POOL_SIZE", 0)
    if DATABASE_POOL_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # a connection goes back to the pool after each request
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": min(env_int("BACKEND_DATABASE_POOL_MIN_SIZE", 1), DATABASE_POOL_SIZE),
            "max_size": DATABASE_POOL_SIZE,
            "max_idle": env_int("BACKEND_DATABASE_POOL_MAX_IDLE", 10),
            "timeout": env_int("BACKEND_DATABASE_POOL_TIMEOUT", 10),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("BACKEND_DATABASE_CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _file_storage() -> dict:
    """The filesystem under the data directory, or an S3 bucket when BACKEND_S3_BUCKET is set."""
    bucket = env_str("BACKEND_S3_BUCKET", "")
    endpoint_url = env_str("BACKEND_S3_ENDPOINT_URL", "")
    if not bucket:
        if endpoint_url:
            raise ImproperlyConfigured("BACKEND_S3_ENDPOINT_URL is set but not BACKEND_S3_BUCKET")
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(DATA_DIR / "storage")},
        }
    return {
        "BACKEND": "substrapp.s3storage.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            # None: boto3 finds credentials itself (AWS_* variables, an instance role).
            "access_key": env_text("BACKEND_S3_ACCESS_KEY").strip() or None,
            "secret_key": env_text("BACKEND_S3_SECRET_KEY").strip() or None,
            "region_name": env_str("BACKEND_S3_REGION", "us-east-1"),
            "signature_version": "s3v4",
            # MinIO and SeaweedFS name buckets in the path, not in the host name.
            "addressing_style": "path" if endpoint_url else None,
            # Bytes only: no type guessed from the name, and no Content-Encoding for a .tar.gz.
            "object_parameters": {"ContentType": "application/octet-stream"},
        },
    }


STORAGES = {
    "default": _file_storage(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_URL = f"{URL_PREFIX.lstrip('/')}/static/".lstrip("/")
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "substrapp.authentication.ExpiringTokenAuthentication",
        "substrapp.authentication.SplitJWTAuthentication",
        # Admins logged in to /admin/ can browse the API and the schema UI.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["substrapp.api.permissions.IsChannelMember"],
    # The SDK sends `Accept: application/json;version=0.0`; no versioning class, so no 406.
    # JSON bodies are decoded once, by the input checks' middleware (substrapp/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "substrapp.api.parsers.CheckedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "substrapp.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "substrapp.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "substrapp.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "substrapp.api.schema.AutoSchema",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=JWT_REFRESH_HOURS),
    "AUTH_HEADER_TYPES": ("JWT",),
    "SIGNING_KEY": SECRET_KEY,
    "ALGORITHM": "HS256",
    "UPDATE_LAST_LOGIN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Organization backend",
    "DESCRIPTION": "The REST API of one organization, as the substra 1.0 SDK speaks it.",
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "substrapp.models.users.Role"},
}

# The worker's Prometheus metrics on this port, at /metrics (substrapp/metrics.py); 0: none. Its
# pool's processes write theirs to PROMETHEUS_MULTIPROC_DIR: set here, before any import of
# prometheus_client, to a new empty folder (the pool's processes, forked later, inherit it).
WORKER_METRICS_PORT = env_int("BACKEND_WORKER_METRICS_PORT", 0)
if WORKER_METRICS_PORT:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="worker-metrics-"))
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
# The event consumer's Prometheus metrics on this port, at /metrics (substrapp/metrics.py); 0: none.
CONSUMER_METRICS_PORT = env_int("BACKEND_CONSUMER_METRICS_PORT", 0)

# Text on a terminal; JSON lines with LOG_FORMAT=json, every line naming this organization and
# the task, plan or request it is about (orchestrator_client/logs.py).
LOGGING = logging_config(env_str("BACKEND_LOG_LEVEL", "INFO"), organization=ORG_ID)
