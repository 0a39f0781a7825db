"""A three-node JetStream cluster of the test's own: nats-server processes from the venv on free
ports, each with its store in the test's tmp dir, free to be killed and restarted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from nats.js.api import ClusterInfo

from messaging.connection import connect
from messaging.embedded import ClusterMembership, NatsServer, free_port
from messaging.runtime import setup_nats
from tests.integration.conftest import Bus
from tests.support import wait_for

CLUSTER_NAME = "eventbank-test"
NODES = 3


@dataclass
class NatsCluster:
    nodes: list[NatsServer]

    @property
    def url(self) -> str:
        """``NATS_URL`` for the cluster: every node, comma-separated."""
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> NatsServer:
        return next(node for node in self.nodes if node.name == name)

    def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes:  # together: a node alone waits for its peers to elect
            if not node.running:
                node.launch()
        for node in self.nodes:
            node.ready(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def stream_cluster(self, stream: str) -> ClusterInfo:
        """The stream's leader and replicas, as the cluster reports them now."""
        return asyncio.run(_cluster_info(self.url, stream))

    def wait_until_whole(self, stream: str, timeout: float = 30.0) -> ClusterInfo:
        """Until the stream has a leader and every other node is a current replica."""

        def whole() -> ClusterInfo | None:
            try:
                info = self.stream_cluster(stream)
            except Exception:  # an election under way, or the node asked just went away
                return None
            replicas = info.replicas or []
            current = [r for r in replicas if r.current and not r.offline]
            return info if info.leader and len(current) == NODES - 1 else None

        found = wait_for(whole, timeout=timeout, interval=0.2, what=f"stream {stream} whole")
        assert found is not None
        return found


async def _cluster_info(url: str, stream: str) -> ClusterInfo:
    client = await connect(url, name="test-cluster-info", daemon=False)
    try:
        info = await client.jetstream(timeout=2).stream_info(stream)
        assert info.cluster is not None, "not a clustered stream"
        return info.cluster
    finally:
        await client.close()


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """One cluster for the session: a new cluster spends seconds electing its first leaders.
    Each test has a stream of its own on it (``cluster_bus``) and restarts what it kills."""
    directory = tmp_path_factory.mktemp("nats-cluster")
    ports = [(free_port(), free_port()) for _ in range(NODES)]
    routes = tuple(f"nats-route://127.0.0.1:{route}" for _, route in ports)
    cluster = NatsCluster(
        [
            NatsServer(
                directory / f"nats-{i}",
                port=client,
                cluster=ClusterMembership(CLUSTER_NAME, route, routes),
            )
            for i, (client, route) in enumerate(ports)
        ]
    )
    try:
        cluster.start()
        yield cluster
    finally:
        for node in cluster.nodes:
            node.kill()  # the stores are thrown away: no need to wait for a clean shutdown


@dataclass(frozen=True)
class ClusterBus(Bus):
    """A ``Bus`` whose URL names every node of the cluster."""

    cluster: NatsCluster | None = None

    @property
    def url(self) -> str:
        assert self.cluster is not None
        return self.cluster.url


@pytest.fixture
def cluster_bus(settings: Any, nats_cluster: NatsCluster) -> Iterator[ClusterBus]:
    """A stream of this test's own at R3 on the cluster (made here: the first one waits for
    the cluster's first election); every client is given all three URLs."""
    nats_cluster.start()  # whatever an earlier test left dead
    tag = uuid4().hex[:10]
    settings.NATS_URL = nats_cluster.url
    settings.STREAM_REPLICAS = NODES
    settings.NATS_STREAM, settings.SUBJECT_PREFIX = f"T{tag}", f"t{tag}"
    asyncio.run(setup_nats(nats_cluster.url))
    yield ClusterBus(
        nats_cluster.nodes[0], settings.NATS_STREAM, settings.SUBJECT_PREFIX, cluster=nats_cluster
    )
    nats_cluster.start()
    with contextlib.suppress(Exception):  # best effort: the session's cluster goes anyway
        asyncio.run(_delete_stream(nats_cluster.url, settings.NATS_STREAM))


async def _delete_stream(url: str, stream: str) -> None:
    client = await connect(url, name="test-cluster-cleanup", daemon=False)
    try:
        await client.jetstream(timeout=5).delete_stream(stream)
    finally:
        await client.close()
