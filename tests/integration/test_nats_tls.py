"""NATS over TLS: the certificates `issue_nats_certificates` makes, a relay publishing through a
server that verifies both sides and wants a password, and every way a client is turned away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.core.management import CommandError, call_command
from nats.errors import Error as NatsError

from config.container import Container
from messaging.certificates import CertificateSet
from messaging.connection import ping
from messaging.embedded import NatsServer, ServerTls, free_port, nats_server_binary
from messaging.runtime import relay_events
from tests.support import funded, nats_answers, read_stream, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["localhost", "127.0.0.1"]
LOGIN = ("eventbank", "s3cret-for-tests")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    directory = tmp_path_factory.mktemp("tls") / "nats"
    call_command("issue_nats_certificates", str(directory), *_hosts(), verbosity=0)
    return CertificateSet(directory)


@pytest.fixture
def tls_server(tmp_path: Path, certificates: CertificateSet) -> Iterator[NatsServer]:
    """The production shape (deploy/nats/nats.conf): mutual TLS, handshake first, a password."""
    tls = ServerTls(certificates, verify_clients=True, handshake_first=True)
    with NatsServer(tmp_path / "nats", tls=tls, credentials=LOGIN) as server:
        yield server


@pytest.fixture
def client_tls(settings: Any, certificates: CertificateSet) -> Any:
    """This process as a production service: it trusts the CA and shows its certificate."""
    settings.NATS_TLS_CA = str(certificates.ca)
    settings.NATS_TLS_CERT = str(certificates.client_cert)
    settings.NATS_TLS_KEY = str(certificates.client_key)
    settings.NATS_TLS_HANDSHAKE_FIRST = True
    return settings


def _hosts() -> list[str]:
    return [arg for host in HOSTS for arg in ("--host", host)]


def test_the_certificates_are_a_chain_for_the_hosts_with_private_keys(
    certificates: CertificateSet,
) -> None:
    ca = x509.load_pem_x509_certificate(certificates.ca.read_bytes())
    server = x509.load_pem_x509_certificate(certificates.server_cert.read_bytes())
    client = x509.load_pem_x509_certificate(certificates.client_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    client.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(map(str, names.get_values_for_type(x509.DNSName))) == {"localhost"}
    assert set(map(str, names.get_values_for_type(x509.IPAddress))) == {"127.0.0.1"}
    for key in (certificates.server_key, certificates.client_key):
        assert key.stat().st_mode & 0o777 == 0o600
    # The CA's key is not kept: nothing more can be issued from a copy of the directory.
    assert sorted(p.name for p in certificates.directory.iterdir()) == [
        "ca.pem", "client-key.pem", "client.pem", "server-key.pem", "server.pem",
    ]  # fmt: skip


def test_issuing_again_keeps_the_set_unless_asked_to_replace_it(tmp_path: Path) -> None:
    directory = tmp_path / "nats"
    call_command("issue_nats_certificates", str(directory), *_hosts(), verbosity=0)
    first = CertificateSet(directory).ca.read_bytes()

    call_command("issue_nats_certificates", str(directory), *_hosts(), verbosity=0)
    assert CertificateSet(directory).ca.read_bytes() == first

    call_command("issue_nats_certificates", str(directory), *_hosts(), "--replace", verbosity=0)
    assert CertificateSet(directory).ca.read_bytes() != first


def test_a_dry_run_writes_nothing_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    call_command("issue_nats_certificates", str(tmp_path / "nats"), *_hosts(), "--dry-run")
    assert not (tmp_path / "nats").exists()
    with pytest.raises(CommandError, match="--host"):
        call_command("issue_nats_certificates", str(tmp_path / "nats"))
    with pytest.raises(CommandError, match="--days"):
        call_command("issue_nats_certificates", str(tmp_path / "nats"), *_hosts(), "--days", "0")
    assert not (tmp_path / "nats").exists()


def test_the_relay_publishes_over_mutual_tls(
    tls_server: NatsServer, client_tls: Any, container: Container
) -> None:
    client_tls.NATS_URL = tls_server.url
    funded(container.ledger, 500)

    async def relay_once() -> dict[str, int]:
        return await relay_events(
            container.applications, tls_server.url, once=True, stop=asyncio.Event()
        )

    positions = asyncio.run(relay_once())
    messages = asyncio.run(read_stream(tls_server.url, client_tls.NATS_STREAM))
    assert positions["ledger"] > 0
    assert [json.loads(m.data)["type"] for m in messages] == [
        "account.opened",  # the customer's
        "account.opened",  # the cash account's, at the first deposit
        "account.credited",  # the deposit's two legs, and its record
        "account.debited",
        "cash_movement.recorded",
    ]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"NATS_TLS_CA": ""}, ssl.SSLCertVerificationError),  # the server is not trusted
        ({"NATS_TLS_CERT": "", "NATS_TLS_KEY": ""}, ssl.SSLError),  # the client shows no cert
    ],
    ids=["server-not-trusted", "no-client-certificate"],
)
def test_a_client_without_the_right_certificates_is_refused(
    tls_server: NatsServer, client_tls: Any, change: dict[str, str], refusal: type[Exception]
) -> None:
    for name, value in change.items():
        setattr(client_tls, name, value)
    with pytest.raises(refusal):
        asyncio.run(ping(tls_server.url))


def test_a_wrong_password_is_refused(tls_server: NatsServer, client_tls: Any) -> None:
    url = tls_server.url.replace(LOGIN[1], "not-the-password")
    with pytest.raises(NatsError, match=r"[Aa]uthorization"):
        asyncio.run(ping(url))


@pytest.mark.parametrize("handshake_first", [True, False])
def test_only_a_client_that_opens_with_tls_keeps_its_password_from_a_plain_server(
    client_tls: Any, handshake_first: bool
) -> None:
    """A server that answers in the clear (a downgrade, or the wrong server) and records what
    it hears. Opening with the handshake, the client never sends its CONNECT line, so the
    password in its URL never crosses the wire. Without it, nats-py would speak TLS only if the
    server asked: the password goes out in the clear (why production opens with the handshake)."""
    client_tls.NATS_TLS_HANDSHAKE_FIRST = handshake_first
    heard = bytearray()

    async def plain_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"plain","version":"2.15.1","max_payload":1048576}\r\n')
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            while chunk := await asyncio.wait_for(reader.read(4096), timeout=1):
                heard.extend(chunk)
        writer.close()

    async def attempt() -> None:
        server = await asyncio.start_server(plain_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with contextlib.suppress(Exception):
                await ping(f"tls://{LOGIN[0]}:{LOGIN[1]}@127.0.0.1:{port}", timeout=1.5)

    asyncio.run(attempt())
    assert heard, "the client sent nothing at all"
    assert (LOGIN[1].encode() in heard) is not handshake_first


def test_the_production_nats_conf_runs_and_lets_a_service_in(
    tmp_path: Path, certificates: CertificateSet, client_tls: Any
) -> None:
    """deploy/nats/nats.conf on the pinned server, with only its paths and ports moved here:
    a client set up as docker-compose.yml sets up the services connects and uses JetStream."""
    port, monitoring = free_port(), free_port()
    config = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    for production, here in (
        ("/etc/nats/tls/", f"{certificates.directory}/"),
        ("store_dir: /data", f"store_dir: {json.dumps(str(tmp_path / 'store'))}"),
        ("port: 4222", f"port: {port}"),
        ("http_port: 8222", f"http_port: {monitoring}"),
    ):
        assert production in config
        config = config.replace(production, here)
    (tmp_path / "nats.conf").write_text(config)
    server = subprocess.Popen(
        [nats_server_binary(), "--config", str(tmp_path / "nats.conf")],
        env={"NATS_USER": LOGIN[0], "NATS_PASSWORD": LOGIN[1]},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"tls://{LOGIN[0]}:{LOGIN[1]}@127.0.0.1:{port}"
        wait_for(lambda: nats_answers(url), timeout=15, what="the production nats.conf to serve")
        client_tls.NATS_URL = url
        call_command("setup_nats", verbosity=0)
        with pytest.raises(NatsError, match=r"[Aa]uthorization"):
            asyncio.run(ping(url.replace(LOGIN[1], "guess")))
    finally:
        server.terminate()
        server.wait(10)
