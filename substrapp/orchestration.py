"""The orchestrator, as this organization sees it: one client per channel, made on first use and
shared by every thread (a gRPC channel is thread-safe and multiplexes calls)."""

import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orchestrator_client import OrchestratorClient
from substrapp.channels import get_channel

_clients: dict[str, OrchestratorClient] = {}
_lock = threading.Lock()


def orchestrator_for(channel: str) -> OrchestratorClient:
    with _lock:
        if channel not in _clients:
            _clients[channel] = _connect(channel)
        return _clients[channel]


def close_orchestrator_clients() -> None:
    """Closes every client; the next call connects again with the current settings."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _connect(channel: str) -> OrchestratorClient:
    get_channel(channel)
    if not settings.ORCHESTRATOR_ADDRESS:
        raise ImproperlyConfigured("ORCHESTRATOR_ADDRESS is not set")
    return OrchestratorClient(
        settings.ORCHESTRATOR_ADDRESS,
        channel,
        ca_cert=_pem("ORCHESTRATOR_TLS_CA"),
        cert=_pem("ORCHESTRATOR_TLS_CERT"),
        key=_pem("ORCHESTRATOR_TLS_KEY"),
        server_name=settings.ORCHESTRATOR_SERVER_NAME,
    )


def _pem(setting: str) -> bytes:
    path = getattr(settings, setting)
    if not path:
        raise ImproperlyConfigured(f"{setting} must name a PEM file: the orchestrator only speaks mutual TLS")
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"{setting}: cannot read {path}: {error}") from error
