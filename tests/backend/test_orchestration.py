"""orchestrator_for(channel): this organization's client of a real orchestrator, one per channel."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from substrapp.channels import UnknownChannel
from substrapp.orchestration import close_orchestrator_clients, orchestrator_for
from tests.conftest import ORG1


@pytest.fixture
def configured(orchestrator, authority, settings, tmp_path):
    """The settings of org 1, pointing at the session's orchestrator."""
    identity = authority.organization_identity(ORG1)
    for name, pem in [("ca.pem", authority.cert), ("org.pem", identity.cert), ("org.key", identity.key)]:
        (tmp_path / name).write_bytes(pem)
    settings.ORCHESTRATOR_ADDRESS = orchestrator.address
    settings.ORCHESTRATOR_TLS_CA = str(tmp_path / "ca.pem")
    settings.ORCHESTRATOR_TLS_CERT = str(tmp_path / "org.pem")
    settings.ORCHESTRATOR_TLS_KEY = str(tmp_path / "org.key")
    yield settings
    close_orchestrator_clients()


def test_it_speaks_mutual_tls_to_the_orchestrator_in_the_channel(configured):
    client = orchestrator_for("otherchannel")

    assert client.channel == "otherchannel"
    assert isinstance(client.list_organizations(), list)


def test_each_channel_has_one_shared_client(configured):
    assert orchestrator_for("mychannel") is orchestrator_for("mychannel")
    assert orchestrator_for("mychannel") is not orchestrator_for("otherchannel")


def test_a_channel_of_no_configuration_has_no_client(configured):
    with pytest.raises(UnknownChannel):
        orchestrator_for("nochannel")


def test_missing_tls_material_is_a_configuration_error(configured):
    configured.ORCHESTRATOR_TLS_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="ORCHESTRATOR_TLS_KEY must name a PEM file"):
        orchestrator_for("mychannel")


def test_without_an_address_there_is_no_orchestrator(settings):
    settings.ORCHESTRATOR_ADDRESS = ""

    with pytest.raises(ImproperlyConfigured, match="ORCHESTRATOR_ADDRESS is not set"):
        orchestrator_for("mychannel")
