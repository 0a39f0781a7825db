"""deploy/nats/nats-1.conf, nats-2.conf and nats-3.conf — the cluster docker-compose.yml runs —
started on the pinned nats-server, with only their paths, ports and peers' host names moved
here: the three form one cluster over mutual-TLS routes, and `setup_nats`, given all three URLs
as a service is, makes the stream at R3 on it. (`nats-server -t` accepts a clustered config
that cannot start, so only starting them proves them.)"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from nats.errors import Error as NatsError

from messaging.certificates import CertificateSet
from messaging.connection import connect, ping
from messaging.embedded import free_port, nats_server_binary
from tests.support import nats_answers, wait_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NODES = ("nats-1", "nats-2", "nats-3")
LOGIN = ("eventbank", "s3cret-for-tests")


@dataclass(frozen=True)
class Node:
    name: str
    client: int
    route: int
    monitoring: int

    @property
    def url(self) -> str:
        return f"tls://{LOGIN[0]}:{LOGIN[1]}@127.0.0.1:{self.client}"


@pytest.fixture
def certificates(tmp_path: Path) -> CertificateSet:
    """Issued as docker-compose.yml's nats-certificates does, plus this machine's address."""
    directory = tmp_path / "tls"
    hosts = [arg for host in (*NODES, "127.0.0.1") for arg in ("--host", host)]
    call_command("issue_nats_certificates", str(directory), *hosts, verbosity=0)
    return CertificateSet(directory)


@pytest.fixture
def deployed_cluster(tmp_path: Path, certificates: CertificateSet) -> Iterator[list[Node]]:
    nodes = [Node(name, free_port(), free_port(), free_port()) for name in NODES]
    processes = []
    try:
        for node in nodes:
            config = here(
                (ROOT / "deploy" / "nats" / f"{node.name}.conf").read_text(),
                node,
                nodes,
                certificates,
                tmp_path / node.name,
            )
            (tmp_path / f"{node.name}.conf").write_text(config)
            processes.append(
                subprocess.Popen(
                    [nats_server_binary(), "--config", str(tmp_path / f"{node.name}.conf")],
                    env={"NATS_USER": LOGIN[0], "NATS_PASSWORD": LOGIN[1]},
                    stdout=(tmp_path / f"{node.name}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        yield nodes
    finally:
        for process in processes:
            process.kill()
            process.wait(10)


def here(
    config: str, node: Node, nodes: list[Node], certificates: CertificateSet, store: Path
) -> str:
    """A node's production config with its ports, paths and peers moved to this machine; each
    thing moved must be there to move, so the config cannot drift from what is tested."""
    moves = [
        ("/etc/nats/tls/", f"{certificates.directory}/"),
        ("store_dir: /data", f"store_dir: {json.dumps(str(store))}"),
        ("\nport: 4222", f"\nport: {node.client}"),
        ("http_port: 8222", f"http_port: {node.monitoring}"),
        ("  port: 6222", f"  port: {node.route}"),
        *((f"nats-route://{n.name}:6222", f"nats-route://127.0.0.1:{n.route}") for n in nodes),
    ]
    for production, moved in moves:
        assert production in config, f"{node.name}.conf has no {production!r}"
        config = config.replace(production, moved)
    return config


@pytest.fixture
def as_a_service(settings: Any, certificates: CertificateSet, deployed_cluster: list[Node]) -> Any:
    """This process set up as docker-compose.yml sets up every service."""
    settings.NATS_URL = ",".join(node.url for node in deployed_cluster)
    settings.STREAM_REPLICAS = 3
    settings.NATS_STREAM, settings.SUBJECT_PREFIX = "EVENTBANK", "eventbank"
    settings.NATS_TLS_CA = str(certificates.ca)
    settings.NATS_TLS_CERT = str(certificates.client_cert)
    settings.NATS_TLS_KEY = str(certificates.client_key)
    settings.NATS_TLS_HANDSHAKE_FIRST = True
    return settings


def test_the_deployed_nodes_form_a_cluster_that_holds_the_stream_at_r3(
    deployed_cluster: list[Node], as_a_service: Any
) -> None:
    for node in deployed_cluster:
        wait_for(partial(nats_answers, node.url), timeout=20, what=f"{node.name} to serve")
        jsz = _monitor(node, "jsz")
        assert jsz["config"]["sync_always"] is True, f"{node.name} acks before fsync"
    wait_for(
        lambda: all(len(_monitor(n, "routez")["routes"]) >= 2 for n in deployed_cluster),
        timeout=20,
        what="every node routed to both others",
    )

    call_command("setup_nats", verbosity=0)  # waits out the first election itself

    cluster = asyncio.run(_stream_cluster(as_a_service.NATS_URL))
    assert cluster.name == "eventbank"
    assert cluster.leader in NODES
    replicas = {r.name for r in cluster.replicas or []}
    assert replicas | {cluster.leader} == set(NODES)
    for node in deployed_cluster:
        routing = _monitor(node, "varz")["cluster"]
        assert routing["tls_required"] and routing["tls_verify"], f"{node.name} routes in the clear"

    # A second run finds the stream and leaves it as it is.
    call_command("setup_nats", verbosity=0)
    with pytest.raises(NatsError, match=r"[Aa]uthorization"):
        asyncio.run(ping(deployed_cluster[0].url.replace(LOGIN[1], "guess")))


async def _stream_cluster(url: str) -> Any:
    client = await connect(url, name="test-deployed-cluster", daemon=False)
    try:
        js = client.jetstream(timeout=5)
        info = await js.stream_info("EVENTBANK")
        assert info.config.num_replicas == 3
        ack = await js.publish("eventbank.test.published", b"{}", timeout=5)
        assert ack.seq == 1
        return info.cluster
    finally:
        await client.close()


def _monitor(node: Node, endpoint: str) -> dict[str, Any]:
    address = f"http://127.0.0.1:{node.monitoring}/{endpoint}"
    with urllib.request.urlopen(address, timeout=2) as response:
        document: dict[str, Any] = json.load(response)
    return document


def test_moving_a_config_here_fails_when_a_production_setting_is_missing(
    tmp_path: Path, certificates: CertificateSet
) -> None:
    """The rewrite checks what it moves (a config that lost its routes is not quietly tested)."""
    config = (ROOT / "deploy" / "nats" / "nats-1.conf").read_text()
    without_routes = re.sub(r"nats-route://nats-2:6222", "", config)
    nodes = [Node(name, 1, 2, 3) for name in NODES]
    with pytest.raises(AssertionError, match="nats-route://nats-2:6222"):
        here(without_routes, nodes[0], nodes, certificates, tmp_path)
