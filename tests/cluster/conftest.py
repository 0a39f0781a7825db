"""Servers in clusters of the tests' own, to be killed, stopped and started: three nats-server
processes from the venv as a JetStream cluster (free ports, stores in tmp), and a PostgreSQL
primary with a streaming standby, on which the whole system runs as ``make run`` starts it (the
e2e fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from nats.js.api import ClusterInfo

from messaging.connection import connect
from messaging.embedded import ClusterMembership, NatsServer, free_port
from messaging.runtime import setup_nats
from tests.conftest import PrivatePostgres, as_postgres, new_postgres, postgres_data_dir
from tests.e2e.conftest import RunningSystem, Systems
from tests.integration.conftest import Bus
from tests.support import wait_for

# --- NATS: three nodes of a JetStream cluster ------------------------------------------------

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


# --- PostgreSQL: a primary and its standby ----------------------------------------------


@dataclass(frozen=True)
class ReplicatedPostgres:
    """A primary and a hot standby that streams its WAL (``pg_basebackup -R``)."""

    primary: PrivatePostgres
    standby: PrivatePostgres

    def create_database(self, name: str) -> None:
        """A new database on the primary, once the standby has it too."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def replicated() -> bool:
            with psycopg.connect(self.standby.url(), autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                return found.fetchone() is not None

        wait_for(replicated, timeout=20, what=f"the standby to have database {name}")

    def standby_sql(self, statement: str, database: str = "postgres") -> None:
        with psycopg.connect(self.standby.url(database), autocommit=True) as conn:
            conn.execute(statement)


@pytest.fixture(scope="module")
def replicated_postgres() -> Iterator[ReplicatedPostgres]:
    """Skipped where PostgreSQL's server binaries are not installed."""
    primary = new_postgres("wal_level=replica", "max_wal_senders=4")
    standby = PrivatePostgres(
        primary.bin_dir, postgres_data_dir(), free_port(), ("hot_standby=on",)
    )
    try:
        subprocess.run(
            [*as_postgres(), str(primary.bin_dir / "pg_basebackup"), "-D", str(standby.data_dir),
             "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
             "-R",  # standby.signal and primary_conninfo: it starts as a standby of the primary
             "-X", "stream", "--checkpoint=fast", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        standby.start()
        yield ReplicatedPostgres(primary, standby)
    finally:
        standby.discard()
        primary.discard()


@pytest.fixture(scope="module")
def replica_system(
    replicated_postgres: ReplicatedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """``run_all`` on the primary, reading projections from the standby; one for the module
    (starting a system is most of such a test's time), each test with customers of its own."""
    database = f"eventbank_{uuid4().hex[:8]}"
    replicated_postgres.create_database(database)
    systems = Systems(tmp_path_factory.mktemp("replica-system"), postgres_url=None)
    try:
        yield systems.start(
            database=replicated_postgres.primary.url(database),
            extra_env={
                "DATABASE_REPLICA_URL": replicated_postgres.standby.url(database),
                # Back to the standby soon after it returns; a paused replay's wait over soon.
                "EVENTBANK_REPLICA_RETRY_SECONDS": "1",
                "EVENTBANK_READ_YOUR_WRITES_TIMEOUT": "1",
            },
        )
    finally:
        systems.stop()


@pytest.fixture(scope="module")
def operator(replica_system: RunningSystem) -> str:
    """A staff user's token on ``replica_system``."""
    return replica_system.operator_token()
