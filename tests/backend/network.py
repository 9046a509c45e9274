"""Helpers for backend tests that need a real orchestrator: an orchestrator of a test's own, and
the settings that point this backend (one organization) at one."""

import contextlib

from devnet.orchestrator import OrchestratorProcess
from devnet.postgres import create_database, drop_database
from substrapp.orchestration import close_orchestrator_clients
from tests.conftest import CHANNELS, ORG1
from tests.orchestrator.conftest import Clients


@contextlib.contextmanager
def orchestrator_of_its_own(directory, authority):
    """A fresh orchestrator (database, process) and a client per organization, each registered;
    its event log holds only what the caller does, and the caller may tamper with its database.
    Yields (clients, database URL)."""
    url = create_database("orchestrator_backend")
    process = OrchestratorProcess(directory, url, CHANNELS, authority)
    process.migrate()
    process.start()
    clients = Clients(process)
    try:
        yield clients, url
    finally:
        clients.close()
        process.stop()
        drop_database(url)


def point_backend_at(settings, process, authority, directory, org=ORG1) -> None:
    """Makes this backend the organization `org` of the network of `process` (pytest-django's
    `settings` fixture restores the settings after the test)."""
    identity = authority.organization_identity(org)
    for name, pem in [("ca.pem", authority.cert), ("org.pem", identity.cert), ("org.key", identity.key)]:
        (directory / name).write_bytes(pem)
    settings.ORG_ID = org
    settings.ORCHESTRATOR_ADDRESS = process.address
    settings.ORCHESTRATOR_TLS_CA = str(directory / "ca.pem")
    settings.ORCHESTRATOR_TLS_CERT = str(directory / "org.pem")
    settings.ORCHESTRATOR_TLS_KEY = str(directory / "org.key")
    close_orchestrator_clients()  # the next orchestrator_for() connects with these settings
