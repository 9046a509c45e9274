"""Identity: the organization is the verified client certificate's subject O, nothing else."""

import grpc
import pytest

from orchestrator_client import OrchestratorClient, PermissionDenied, Unauthenticated, Unavailable
from orchestrator_client.pb import service_pb2 as api
from orchestrator_client.pb import service_pb2_grpc as rpc
from orchestrator_client.pki import Authority
from tests.conftest import ORG1, ORG2, ORG3
from tests.orchestrator.conftest import new_key


def client_with(orchestrator, identity, ca_cert, channel="mychannel"):
    return OrchestratorClient(
        orchestrator.address, channel, ca_cert=ca_cert, cert=identity.cert, key=identity.key, retries=0, timeout=10
    )


def test_a_certificate_from_another_ca_is_refused(orchestrator):
    rogue = Authority.create("rogue CA")
    # The rogue client trusts the real server, but the server does not trust the rogue client.
    with client_with(orchestrator, rogue.organization_identity(ORG1), orchestrator.authority.cert) as client:
        with pytest.raises(Unavailable):
            client.list_organizations()


def test_a_client_without_a_certificate_is_refused(orchestrator):
    credentials = grpc.ssl_channel_credentials(root_certificates=orchestrator.authority.cert)
    with grpc.secure_channel(orchestrator.address, credentials) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            rpc.OrganizationServiceStub(channel).GetAllOrganizations(
                api.Empty(), metadata=(("channel", "mychannel"),), timeout=10
            )
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_plaintext_client_is_refused(orchestrator):
    with grpc.insecure_channel(orchestrator.address) as channel:
        with pytest.raises(grpc.RpcError):
            rpc.OrganizationServiceStub(channel).GetAllOrganizations(
                api.Empty(), metadata=(("channel", "mychannel"),), timeout=10
            )


def test_a_certificate_that_names_no_organization_is_refused(orchestrator):
    authority = orchestrator.authority
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from orchestrator_client.pki import Identity, _builder

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nobody")])
    certificate = (
        _builder(subject, authority._certificate.subject, key.public_key(), days=1)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(authority._key, hashes.SHA256())
    )
    identity = Identity(
        cert=certificate.public_bytes(serialization.Encoding.PEM),
        key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
    )  # fmt: skip
    with client_with(orchestrator, identity, authority.cert) as client:
        with pytest.raises(Unauthenticated):
            client.list_organizations()


def test_an_organization_outside_the_channel_is_refused(clients):
    with pytest.raises(PermissionDenied) as refused:
        clients(ORG3, "otherchannel").list_organizations()
    assert refused.value.code == "NOT_A_MEMBER"
    with pytest.raises(PermissionDenied):
        clients(ORG1, "nochannel").list_organizations()


def test_headers_cannot_impersonate_another_organization(orchestrator, world):
    """Org 3 sends headers naming org 1: it is still org 3, and may not act as org 1."""
    identity = orchestrator.authority.organization_identity(ORG3)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=orchestrator.authority.cert, private_key=identity.key, certificate_chain=identity.cert
    )
    forged = (("channel", "mychannel"), ("organization", ORG1), ("x-organization", ORG1), ("org-id", ORG1))
    with grpc.secure_channel(orchestrator.address, credentials) as channel:
        stub = rpc.DataManagerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.UpdateDataManager(api.RenameParam(key=world.data_manager, name="stolen"), metadata=forged, timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        plan = rpc.ComputePlanServiceStub(channel).RegisterComputePlan(
            api.NewComputePlan(key=new_key(), name="mine"), metadata=forged, timeout=10
        )
    assert plan.owner == ORG3
    assert world.client(ORG2).get_data_manager(world.data_manager).name == "hospital data"
