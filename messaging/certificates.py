"""A private certificate authority for NATS TLS, for a deployment that has no CA of its own.

docker-compose.yml runs ``issue_nats_certificates`` once, into a volume that the nats server and
every eventbank service mount: the server presents ``server.pem``, the services verify it
against ``ca.pem`` and present ``client.pem`` back (the server verifies clients too). The test
suite issues a set the same way for its own TLS server. Where an organisation runs a CA, put
its files at the same paths instead: nothing else changes.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "eventbank NATS CA"


@dataclass(frozen=True)
class CertificateSet:
    """Where the files of one set live: PEM files, each key readable by its owner only."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client-key.pem"

    @property
    def complete(self) -> bool:
        files = (self.ca, self.server_cert, self.server_key, self.client_cert, self.client_key)
        return all(path.exists() for path in files)


def issue_certificates(
    directory: Path, *, hosts: list[str], days: int = 825, replace: bool = False
) -> tuple[CertificateSet, bool]:
    """Issue a CA, a server certificate for ``hosts`` and a client certificate into
    ``directory``; return the set and whether anything was written. A complete set is kept
    (restarts must not change what clients trust) unless ``replace``. The CA's key is not kept:
    nothing can be issued later from this CA, so a stolen volume cannot mint certificates."""
    certificates = CertificateSet(Path(directory))
    if certificates.complete and not replace:
        return certificates, False
    if not hosts:
        raise ValueError("a server certificate needs at least one host name")
    certificates.directory.mkdir(parents=True, exist_ok=True)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca_cert = (
        _builder(ca_subject, ca_subject, ca_key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing_certificates=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common_name: str, *usages: x509.ObjectIdentifier) -> tuple[x509.Certificate, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _builder(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
                ca_subject,
                key.public_key(),
                days,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if ExtendedKeyUsageOID.SERVER_AUTH in usages:
            builder = builder.add_extension(_subject_alt_names(hosts), critical=False)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return builder.sign(ca_key, hashes.SHA256()), pem

    # The server's certificate also serves a cluster's routes, where a node dialling its peer is
    # the TLS client and shows it (deploy/nats/nats-1.conf): so it is good for both ends.
    server_cert, server_key = leaf(
        hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    client_cert, client_key = leaf("eventbank", ExtendedKeyUsageOID.CLIENT_AUTH)

    _write(certificates.server_key, server_key, private=True)
    _write(certificates.client_key, client_key, private=True)
    _write(certificates.server_cert, server_cert.public_bytes(serialization.Encoding.PEM))
    _write(certificates.client_cert, client_cert.public_bytes(serialization.Encoding.PEM))
    # The CA last: a set interrupted half-way is incomplete, and is issued again next time.
    _write(certificates.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    return certificates, True


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # An hour's grace for clocks that run a little behind the one that issued it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def _key_usage(*, signing_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signing_certificates,
        crl_sign=signing_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _subject_alt_names(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file; keys are
    created owner-only rather than narrowed after the fact."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)  # a leftover would keep its old mode
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(partial, flags, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)
