"""/info/ and /organization/ as the SDK reads them (docs/sdk-contract.md §4.1, §6.8, §6.10)."""

import datetime

import pytest
from substra.sdk import models as sdk_models

from backend import __version__
from substrapp.models import Organization
from tests.backend.conftest import client_of, make_user
from tests.conftest import ORG1, ORG2, ORG3

SDK_HEADERS = {"HTTP_ACCEPT": "application/json;version=0.0"}


@pytest.mark.django_db
def test_info_validates_as_the_sdk_organization_info(user):
    response = client_of(user).get("/info/", **SDK_HEADERS)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    info = sdk_models.OrganizationInfo(**response.json())
    assert info.organization_id == ORG1
    assert info.channel == "mychannel"
    assert info.version == info.orchestrator_version == __version__
    assert info.config.model_export_enabled is True


@pytest.mark.django_db
def test_info_names_the_caller_and_their_role(admin):
    body = client_of(admin).get("/info/").json()

    assert (body["user"], body["user_role"]) == ("alice", "ADMIN")


@pytest.mark.django_db
def test_info_reports_model_export_for_the_callers_own_channel(other_admin):
    body = client_of(other_admin).get("/info/").json()

    assert body["channel"] == "otherchannel"
    assert body["config"] == {"model_export_enabled": False}


@pytest.mark.django_db
def test_info_host_is_the_public_url_when_one_is_set(user, settings):
    assert client_of(user).get("/info/").json()["host"] == "http://testserver/"

    settings.PUBLIC_URL = "https://org1.example.com"

    assert client_of(user).get("/info/").json()["host"] == "https://org1.example.com/"


@pytest.mark.django_db
def test_a_user_in_no_channel_is_refused_with_a_403(db):
    operator = make_user("root", channel=None)

    response = client_of(operator).get("/info/")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your account belongs to no channel of this organization.",
        "code": "permission_denied",
    }


@pytest.mark.django_db
def test_a_user_of_a_channel_no_longer_configured_is_refused(db):
    ghost = make_user("ghost", channel="closedchannel")

    assert client_of(ghost).get("/info/").status_code == 403


@pytest.mark.django_db
def test_organizations_are_a_bare_array_the_sdk_validates(user):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    Organization.objects.create(channel="mychannel", org_id=ORG1, address="http://org1", creation_date=now)
    Organization.objects.create(channel="mychannel", org_id=ORG2, address="http://org2", creation_date=now)

    response = client_of(user).get("/organization/", **SDK_HEADERS)

    assert response.status_code == 200
    organizations = [sdk_models.Organization(**item) for item in response.json()]
    assert [(o.id, o.is_current, o.creation_date) for o in organizations] == [(ORG1, True, now), (ORG2, False, now)]
    assert response.json()[0] == {
        "id": ORG1,
        "address": "http://org1",
        "is_current": True,
        "creation_date": "2026-01-02T03:04:05+00:00",
    }


@pytest.mark.django_db
def test_organizations_of_another_channel_are_invisible(user, other_admin):
    now = datetime.datetime.now(datetime.UTC)
    Organization.objects.create(channel="mychannel", org_id=ORG3, creation_date=now)
    Organization.objects.create(channel="otherchannel", org_id=ORG2, creation_date=now)

    assert [o["id"] for o in client_of(user).get("/organization/").json()] == [ORG3]
    assert [o["id"] for o in client_of(other_admin).get("/organization/").json()] == [ORG2]


@pytest.mark.django_db
def test_health_answers_without_credentials_when_the_database_does(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stalled_channels": []}


@pytest.mark.django_db
def test_health_is_a_503_when_the_database_does_not_answer(client, monkeypatch):
    from django.db import OperationalError, connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    assert client.get("/health/").status_code == 503


@pytest.mark.django_db
def test_a_request_that_meets_a_lost_database_connection_is_a_503_in_the_one_error_shape(user, monkeypatch):
    from django.db import OperationalError, connection

    client = client_of(user)

    def broken_cursor(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/organization/", **SDK_HEADERS)

    assert response.status_code == 503
    assert response.json() == {
        "detail": "This organization's database cannot be reached; try again later.",
        "code": "database_unavailable",
    }
