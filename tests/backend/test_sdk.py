"""The official substra 1.0.0 SDK against a live backend: login, info, organizations, logout."""

import datetime

import pytest
import substra
from substra.sdk import exceptions

from substrapp.models import ExpiringToken, Organization
from tests.backend.conftest import PASSWORD, make_user
from tests.conftest import ORG1, ORG2


def remote_client(live_server, username, password) -> substra.Client:
    return substra.Client(url=live_server.url, backend_type="remote", username=username, password=password)


@pytest.mark.django_db(transaction=True)
def test_the_sdk_logs_in_reads_the_organization_and_logs_out(live_server):
    make_user("bob")
    Organization.objects.create(
        channel="mychannel", org_id=ORG2, address="http://org2", creation_date=datetime.datetime.now(datetime.UTC)
    )

    client = remote_client(live_server, "bob", PASSWORD)
    info = client.organization_info()
    organizations = client.list_organization()
    client.logout()

    assert (info.organization_id, info.channel, info.config.model_export_enabled) == (ORG1, "mychannel", True)
    assert [(o.id, o.is_current) for o in organizations] == [(ORG2, False)]
    assert not ExpiringToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reports_bad_credentials_as_a_bad_login(live_server):
    make_user("bob")

    with pytest.raises(exceptions.BadLoginException):
        remote_client(live_server, "bob", "wrong")


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reports_an_expired_session_as_an_authentication_error(live_server):
    make_user("bob")
    client = remote_client(live_server, "bob", PASSWORD)
    ExpiringToken.objects.update(expires_at=datetime.datetime.now(datetime.UTC))

    with pytest.raises(exceptions.AuthenticationError, match="expired"):
        client.organization_info()
    ExpiringToken.objects.update(expires_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1))
    client.logout()
