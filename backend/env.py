"""Typed readers of the environment for settings.py. Each reads NAME, and the `*_text` ones also
NAME_FILE (the path of a file holding the value, as Kubernetes mounts secrets)."""

import json
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()


def env_str(name: str, default: str = "") -> str:
    return _env.str(name, default=default)


def env_int(name: str, default: int) -> int:
    return _env.int(name, default=default)


def env_bool(name: str, default: bool) -> bool:
    return _env.bool(name, default=default)


def env_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated values."""
    return _env.list(name, default=default)


def env_db(name: str, default: str) -> dict:
    return _env.db_url(name, default=default)


def env_text(name: str, default: str = "") -> str:
    """NAME, else the content of the file NAME_FILE names, else the default."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {error}") from error
    return default


def env_json(name: str, default):
    """JSON from NAME or NAME_FILE."""
    text = env_text(name)
    if not text.strip():
        return default
    try:
        return json.loads(text)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {error}") from error
