"""A certificate authority for a network, made on the spot (devnet and tests): a CA, a server
certificate for the orchestrator, and one client certificate per organization (subject O)."""

import datetime
from dataclasses import dataclass
from ipaddress import ip_address

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Identity:
    cert: bytes
    key: bytes


@dataclass
class Authority:
    cert: bytes
    _key: ec.EllipticCurvePrivateKey
    _certificate: x509.Certificate

    @classmethod
    def create(cls, name: str = "Substra network CA") -> "Authority":
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        certificate = (
            _builder(subject, subject, key.public_key(), days=3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(cert=certificate.public_bytes(serialization.Encoding.PEM), _key=key, _certificate=certificate)

    def server_identity(self, hostnames=("localhost",), ips=("127.0.0.1",)) -> Identity:
        names = [x509.DNSName(host) for host in hostnames] + [x509.IPAddress(ip_address(ip)) for ip in ips]
        return self._issue(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]),
            ExtendedKeyUsageOID.SERVER_AUTH,
            x509.SubjectAlternativeName(names),
        )

    def organization_identity(self, org_id: str) -> Identity:
        subject = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_id), x509.NameAttribute(NameOID.COMMON_NAME, org_id)]
        )
        return self._issue(subject, ExtendedKeyUsageOID.CLIENT_AUTH)

    def _issue(self, subject, usage, alternative_names=None) -> Identity:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _builder(subject, self._certificate.subject, key.public_key(), days=825)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if alternative_names is not None:
            builder = builder.add_extension(alternative_names, critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        return Identity(
            cert=certificate.public_bytes(serialization.Encoding.PEM),
            key=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )


def _builder(subject, issuer, public_key, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
