"""Django settings of the orchestrator service: only the ORM is used, configured from the environment.

ORCHESTRATOR_DATABASE_URL   postgres://user@host:5432/name, or sqlite:////path/file (default: a
                            SQLite file in ORCHESTRATOR_DATA_DIR, for the embedded mode)
ORCHESTRATOR_CHANNELS_FILE  JSON file {"channel": ["OrgMSP", ...]}, the members of each channel
ORCHESTRATOR_THREADS        server threads per replica (64)
ORCHESTRATOR_MAX_STREAMS    event streams per replica (half the threads)
ORCHESTRATOR_EVENT_LINGER_MS  how long a channel's feed gathers commits before it reads them (10)
"""

from pathlib import Path

import environ

from orchestrator_client.logs import logging_config

env = environ.Env()

DATA_DIR = Path(env.str("ORCHESTRATOR_DATA_DIR", default=str(Path.cwd() / ".orchestrator")))

SECRET_KEY = "the orchestrator serves no web pages and signs nothing with this key"
DEBUG = False
INSTALLED_APPS = ["orchestrator"]
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": env.db_url("ORCHESTRATOR_DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'orchestrator.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = None
# Each call checks its thread's kept connection before using it (one round trip): after a
# PostgreSQL restart every kept connection is dead, and a call must not be the one to find out.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the statement: psycopg then neither quotes each value into the
    # SQL text (slow for the arrays of bulk inserts) nor re-parses statements it has prepared.
    # A database that does not answer fails a call in seconds (UNAVAILABLE), not after minutes.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "connect_timeout": 5}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue on SQLite's single lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}

CHANNELS_FILE = env.str("ORCHESTRATOR_CHANNELS_FILE", default="")

# Server threads of one replica; each holds its own database connection while it works. Event
# streams hold a thread each for their whole life: at most MAX_STREAMS of them.
THREADS = env.int("ORCHESTRATOR_THREADS", default=64)
MAX_STREAMS = env.int("ORCHESTRATOR_MAX_STREAMS", default=THREADS // 2)

# After a wake-up, a channel's feed waits this long before it reads new events, so that the
# commits of a busy channel reach every stream in one message: it bounds each stream's messages
# per second, and adds at most this much to the delivery lag.
EVENT_LINGER_S = env.float("ORCHESTRATOR_EVENT_LINGER_MS", default=10.0) / 1000

# Prometheus metrics on this port, at /metrics (orchestrator/metrics.py); 0: none.
METRICS_PORT = env.int("ORCHESTRATOR_METRICS_PORT", default=0)

# Text on a terminal; JSON lines with LOG_FORMAT=json (orchestrator_client/logs.py).
LOGGING = logging_config(env.str("ORCHESTRATOR_LOG_LEVEL", default="INFO"), process="orchestrator")
