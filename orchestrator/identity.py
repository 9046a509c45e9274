"""Who is calling: the organization is the subject O of the client certificate that TLS verified
against the network's CA. Nothing the client sends in headers can change it."""

import functools
import json
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from orchestrator.errors import OrchestratorError
from orchestrator.ledger.common import Caller

CHANNEL_METADATA = "channel"


class Channels:
    """Channel name -> member organizations, from the configuration file."""

    def __init__(self, members: dict[str, list[str]]):
        self.members = {name: frozenset(orgs) for name, orgs in members.items()}

    @classmethod
    def from_file(cls, path: str) -> "Channels":
        if not path:
            raise SystemExit("ORCHESTRATOR_CHANNELS_FILE is not set: the orchestrator needs its channels")
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise SystemExit(f"cannot read the channels file {path}: {error}") from None
        if not isinstance(document, dict) or not all(isinstance(v, list) for v in document.values()):
            raise SystemExit(f"{path} must hold an object: channel name -> list of organization ids")
        return cls(document)

    def caller(self, org: str, channel: str) -> Caller:
        if channel not in self.members:
            raise OrchestratorError("NOT_A_MEMBER", f"unknown channel {channel!r}")
        if org not in self.members[channel]:
            raise OrchestratorError("NOT_A_MEMBER", f"{org} is not a member of channel {channel!r}")
        return Caller(org=org, channel=channel)


def caller_of(context, channels: Channels) -> Caller:
    auth = context.auth_context()
    certificates = auth.get("x509_pem_cert")
    if not certificates:
        raise OrchestratorError("UNAUTHENTICATED", "a verified client certificate is required")
    org = organization_of(certificates[0])
    channel = dict(context.invocation_metadata()).get(CHANNEL_METADATA, "")
    return channels.caller(org, channel)


@functools.lru_cache(maxsize=256)
def organization_of(pem: bytes) -> str:
    certificate = x509.load_pem_x509_certificate(pem)
    names = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if len(names) != 1 or not names[0].value:
        raise OrchestratorError("UNAUTHENTICATED", "the client certificate must name one organization (O)")
    return names[0].value
