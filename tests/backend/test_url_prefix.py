"""BACKEND_URL_PREFIX: the API under a path (the web frontend served at `/` of the same origin),
with the addresses it gives out under that path too."""

import importlib

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

import backend.urls
from tests.backend.conftest import client_of


@pytest.fixture
def api_under_prefix():
    with override_settings(URL_PREFIX="/api"):
        importlib.reload(backend.urls)
        clear_url_caches()
        yield
    importlib.reload(backend.urls)
    clear_url_caches()


def test_the_api_answers_under_the_prefix_only(api_under_prefix, user):
    client = client_of(user)

    assert client.get("/api/info/").status_code == 200
    assert client.get("/info/").status_code == 404
    assert client.get("/api/health/").status_code == 200


def test_info_host_and_session_routes_are_under_the_prefix(api_under_prefix, user):
    client = client_of(user)

    assert client.get("/api/info/").json()["host"] == "http://testserver/api/"
    assert client.post("/api/me/refresh/").status_code == 401


def test_file_addresses_are_under_the_prefix(api_under_prefix, user):
    from django.urls import reverse

    assert reverse("model-file", args=["k"]) == "/api/model/k/file/"
    assert reverse("function-file", args=["k"]).startswith("/api/function/")


def test_the_workers_addresses_of_models_and_logs_are_under_the_prefix(api_under_prefix):
    # The worker registers these in the orchestrator: peers download models from them and the
    # frontend's logs link follows them, so they must name routes the API serves.
    from django.urls import resolve, reverse

    from substrapp import worker

    with override_settings(PUBLIC_URL="https://org1.example.com"):
        model = worker._url("/model/k/file/")
        logs = worker._url("/task/k/logs/")

    assert model == "https://org1.example.com" + reverse("model-file", args=["k"])
    assert logs == "https://org1.example.com/api/task/k/logs/"
    assert resolve("/api/task/k/logs/")
