"""Logs every process writes the same way: readable text by default, JSON lines with
LOG_FORMAT=json, and on every line the keys of what it is about (task, plan, organization, ...).

The code that handles a task, an event or a request says what it is about once, with
`about(task=..., plan=...)`; every line logged inside, by any module, carries those keys (a
contextvar: a thread or an asyncio task of its own does not inherit another's). So one plan's
story reads across the orchestrator's and every organization's logs by filtering on its key:

    jq -c 'select(.plan == "<plan key>")' orchestrator.log MyOrg1MSP-*.log

Neither Django nor Celery here: the orchestrator, the backend, the consumer and the worker all
configure their logging with `logging_config()`.
"""

import contextlib
import contextvars
import datetime
import json
import logging
import os
import sys
from pathlib import Path

FORMATS = ("text", "json")
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)


@contextlib.contextmanager
def about(**keys):
    """Every line logged in the block carries `keys` (those of None value are left out), with the
    keys of any enclosing block."""
    token = _context.set({**current(), **{name: str(value) for name, value in keys.items() if value is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict:
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Puts the keys of the enclosing `about` blocks on the record (`record.about`)."""

    def filter(self, record):
        record.about = {**current(), **getattr(record, "about", {})}
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, process, message, the keys of
    the enclosing `about` blocks, and the traceback of an exception."""

    def __init__(self, process: str = "", organization: str = ""):
        super().__init__()
        self.fixed = {"process": process or process_name(), **({"organization": organization} if organization else {})}

    def format(self, record):
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            **self.fixed,
            "message": record.getMessage(),
            **getattr(record, "about", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger message [key=value ...]`, for a terminal."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record):
        text = super().format(record)
        keys = getattr(record, "about", {})
        if not keys:
            return text
        first, newline, rest = text.partition("\n")
        return first + " [" + " ".join(f"{name}={value}" for name, value in keys.items()) + "]" + newline + rest


def log_format() -> str:
    chosen = os.environ.get("LOG_FORMAT", "text").strip().lower() or "text"
    if chosen not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
    return chosen


def process_name() -> str:
    """LOG_PROCESS, else the command line's first two words (`manage.py consume_events`)."""
    return os.environ.get("LOG_PROCESS") or " ".join(Path(word).name for word in sys.argv[:2])


def logging_config(level: str = "INFO", process: str = "", organization: str = "") -> dict:
    """A `logging.config.dictConfig` dict: the root logger to stderr, in LOG_FORMAT; in JSON, every
    line names the process and, in an organization's processes, the organization."""
    if log_format() == "json":
        formatter = {"()": JsonFormatter, "process": process, "organization": organization}
    else:
        formatter = {"()": TextFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"about": {"()": ContextFilter}},
        "formatters": {"chosen": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "chosen", "filters": ["about"]}},
        "root": {"handlers": ["stderr"], "level": level},
    }
