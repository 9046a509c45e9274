"""The console's server-side tests run in the backend's test world (tests/backend/conftest.py):
Django over a fresh PostgreSQL database, users of `mychannel` and `otherchannel`. Its fixtures
and session hooks are taken from there, not copied."""

import pytest
from django.test import Client

from tests.backend.conftest import (  # noqa: F401 (fixtures and hooks pytest finds by name)
    PASSWORD,
    _database_only_for_tests_that_ask,
    admin,
    django_db_setup,
    make_user,
    other_admin,
    pytest_sessionfinish,
    user,
)


def pytest_terminal_summary(terminalreporter):
    """Names the browser tests' screenshots, kept as the session's artifacts."""
    from tests.console.browsing import SCREENSHOTS

    if any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"console screenshots: {SCREENSHOTS}")


def signed_in(account) -> Client:
    """A browser-like client of the console, signed in through its form (CSRF checks on)."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/console/sign-in/")
    token = page.cookies["csrftoken"].value
    answer = client.post(
        "/console/sign-in/", {"username": account.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302, answer.content[:500]
    return client


def csrf_post(client: Client, url: str, data: dict | None = None):
    """A form's POST with the CSRF token the session's cookie holds."""
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


@pytest.fixture
def admin_client(admin):  # noqa: F811 (the fixture imported above)
    return signed_in(admin)


@pytest.fixture
def user_client(user):  # noqa: F811 (the fixture imported above)
    return signed_in(user)
