"""The backend's tests run Django with backend.settings over a fresh PostgreSQL database made for
the session. Django is configured when this directory is collected, not from the environment:
the orchestrator's subprocesses inherit the environment, and `DJANGO_SETTINGS_MODULE` there would
make them load the backend's settings instead of their own."""

import contextlib
import json
import os
import shutil
import tempfile

import django
import pytest
from django.conf import settings
from django.db import connections

from devnet.postgres import create_database, drop_database
from tests.conftest import ORG1

PASSWORD = "correct horse battery staple"
CHANNELS = {"mychannel": {"model_export_enabled": True}, "otherchannel": {"model_export_enabled": False}}

DATABASE_URL = create_database("backend_test")
DATA_DIR = tempfile.mkdtemp(prefix="backend-test-")


@contextlib.contextmanager
def _environment(**variables):
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


def _configure_django() -> None:
    with _environment(
        BACKEND_DATABASE_URL=DATABASE_URL,
        BACKEND_DATA_DIR=DATA_DIR,
        BACKEND_ORG_ID=ORG1,
        BACKEND_CHANNELS=json.dumps(CHANNELS),
    ):
        from backend import settings as backend_settings
    values = {name: getattr(backend_settings, name) for name in dir(backend_settings) if name.isupper()}
    # Password hashing is made slow on purpose; tests hash hundreds.
    values["PASSWORD_HASHERS"] = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.configure(**values)
    django.setup()


_configure_django()


def pytest_sessionfinish(session, exitstatus):
    connections.close_all()
    drop_database(DATABASE_URL)
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """The database is new: migrate it, and drop it at the end of the session."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)


@pytest.fixture(autouse=True, scope="session")
def _database_only_for_tests_that_ask(django_db_blocker):
    django_db_blocker.block()
    yield
    django_db_blocker.restore()


def make_user(username: str, channel: str | None = "mychannel", role: str = "USER", **fields):
    from django.contrib.auth import get_user_model

    from substrapp.models import UserChannel

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)
    if channel is not None:
        UserChannel.objects.create(user=user, channel=channel, role=role)
    return user


def client_of(user):
    """An API client logged in as `user` with a token, as the SDK is."""
    from rest_framework.test import APIClient

    from substrapp.accounts import issue_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user).key}")
    return client


@pytest.fixture
def admin(db):
    return make_user("alice", role="ADMIN")


@pytest.fixture
def user(db):
    return make_user("bob")


@pytest.fixture
def other_admin(db):
    """An admin of the other channel."""
    return make_user("charlie", channel="otherchannel", role="ADMIN")


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 server (SeaweedFS) for the session; each test takes a bucket of its own."""
    from devnet.s3 import S3Server

    with S3Server() as server:
        yield server
