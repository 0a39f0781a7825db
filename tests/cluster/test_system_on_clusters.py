"""The whole system past one machine (#30's proof): ``run_all`` on a three-node JetStream
cluster (the stream at R3, every process given all three URLs) and a PostgreSQL primary whose
streaming standby serves the projection reads, under customers' transfers over HTTP. Meanwhile
the stream's leader is SIGKILLed and restarted, later another node, and then the standby is
stopped and started again. Afterwards:

- no write was refused (every transfer answered 201 or a business refusal; none a 5xx);
- no read given its transfer's ``position`` as ``min_position`` was stale (it waits, or says
  503 — ``projection_behind``, or ``unavailable`` from a standby stopped under it — which the
  client retries; never a 200 without the transfer);
- the stream holds every stored event once per ``Nats-Msg-Id``, in each source's order;
- the projections equal a fold of the stores, and every alert was raised once;
- no process exited: a lost node or a standby away cost no process its life.

It prints the failover the relay saw (its "publishing again after" lines) and the slowest read.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID, uuid4

import psycopg
import pytest

from config.container import Container, build_container
from ledger.domain import CASH_OWNER
from tests.cluster.conftest import NODES, ClusterBus, NatsCluster, ReplicatedPostgres
from tests.conftest import CONTEXTS
from tests.e2e.conftest import Answer, RunningSystem, Systems, wait_until_caught_up
from tests.integration.test_relay import assert_stream_holds_each_event_once_in_order
from tests.support import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

CUSTOMERS = 3
OPENING = 5_000_00  # cents in each customer's first account
PASSWORD = "cluster-pass-42"


@dataclass
class Journal:
    """What the customers saw."""

    transfers: int = 0
    refused: list[str] = field(default_factory=list)  # 5xx answers to a write
    stale: list[str] = field(default_factory=list)  # a 200 read missing its own transfer
    slowest_read: float = 0.0  # seconds from a transfer's answer to the read showing it
    reads_retried: Counter[str] = field(default_factory=Counter)  # 503s to a read, by code
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def clustered_system(
    nats_cluster: NatsCluster,
    replicated_postgres: ReplicatedPostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningSystem, str]]:
    """``run_all`` on both clusters, with a stream of its own; the system and the stream."""
    nats_cluster.start()  # whatever an earlier test left dead
    database = f"eventbank_{uuid4().hex[:8]}"
    replicated_postgres.create_database(database)
    tag = uuid4().hex[:10]
    systems = Systems(tmp_path_factory.mktemp("clustered-system"), postgres_url=None)
    try:
        system = systems.start(
            database=replicated_postgres.primary.url(database),
            nats_url=nats_cluster.url,
            extra_env={
                "DATABASE_REPLICA_URL": replicated_postgres.standby.url(database),
                "EVENTBANK_STREAM_REPLICAS": str(NODES),
                "EVENTBANK_NATS_STREAM": f"T{tag}",
                "EVENTBANK_SUBJECT_PREFIX": f"t{tag}",
                "EVENTBANK_WRITE_RATE": "1000000/min",
                "EVENTBANK_REPLICA_RETRY_SECONDS": "1",
            },
        )
        yield system, f"T{tag}"
    finally:
        systems.stop()
        nats_cluster.start()


def customer(
    system: RunningSystem, token: str, own: list[str], everyone: list[str], seed: int,
    stop: threading.Event, journal: Journal,
) -> None:  # fmt: skip
    """Transfers, each followed by a read of the transfers as of its position."""
    n = seed
    while not stop.is_set():
        n += 1
        source = own[n % 2]
        destination = everyone[(n * 7 + seed) % len(everyone)]
        if destination == source:
            continue
        body = {"from_account": source, "to_account": destination, "amount": f"{n % 40 + 1}.00"}
        answer = system.post(
            "/api/transfers/", body, token=token, headers={"Idempotency-Key": str(uuid4())}
        )
        with journal.lock:
            journal.transfers += 1
            if answer.status >= 500:
                journal.refused.append(f"{answer.status}: {answer.body}")
        if answer.status != 201:
            continue
        read_back(system, token, answer, journal)


def read_back(system: RunningSystem, token: str, written: Answer, journal: Journal) -> None:
    transfer, position = written.body["id"], written.body["position"]
    started = time.monotonic()
    while time.monotonic() - started < 60:
        answer = system.get(f"/api/transfers/?min_position={position}", token=token)
        if answer.status == 503:
            # projection_behind: the wait's bound passed, or too many wait; unavailable: the
            # standby stopped under a read (its retry goes to the primary). Either: ask again.
            with journal.lock:
                journal.reads_retried[answer.body.get("code", "?")] += 1
            time.sleep(0.05)
            continue
        with journal.lock:
            if answer.status != 200:
                journal.refused.append(f"read {answer.status}: {answer.body}")
            elif transfer not in {t["id"] for t in answer.body["results"]}:
                journal.stale.append(f"{transfer} at {position}")
            journal.slowest_read = max(journal.slowest_read, time.monotonic() - started)
        return
    with journal.lock:
        journal.refused.append(f"{transfer} never read back in 60 s")


def chaos(cluster: NatsCluster, postgres: ReplicatedPostgres, stream: str, done: list[str]) -> None:
    """The stream's leader killed and restarted, then another node, then the standby."""
    time.sleep(4)
    for round_ in ("the stream's leader", "another node"):
        info = cluster.wait_until_whole(stream, timeout=60)
        assert info.leader is not None
        victim = cluster.node(info.leader)
        if round_ == "another node":
            victim = next(node for node in cluster.nodes if node.name != info.leader)
        victim.kill()
        done.append(f"killed {round_} ({victim.name})")
        time.sleep(6)
        cluster.start()
        done.append(f"restarted {victim.name}")
        time.sleep(2)
    postgres.standby.pg_ctl("-m", "fast", "stop")
    done.append("standby stopped")
    time.sleep(3)
    postgres.standby.start()
    done.append("standby started")
    time.sleep(3)


def test_transfers_ride_out_lost_nodes_and_a_standby_away(
    clustered_system: tuple[RunningSystem, str],
    nats_cluster: NatsCluster,
    replicated_postgres: ReplicatedPostgres,
) -> None:
    system, stream = clustered_system
    wait_for(lambda: system.get("/healthz").status == 200, timeout=60, what="a healthy system")
    operator = system.operator_token()
    tokens, accounts = [], []
    for n in range(CUSTOMERS):
        token = system.customer_token(f"k{n}", PASSWORD)
        own = [system.post("/api/accounts/", {}, token=token).body["id"] for _ in range(2)]
        made = system.post(f"/api/accounts/{own[0]}/deposits/",
                           {"amount": f"{OPENING // 100}.00"}, token=operator)  # fmt: skip
        assert made.status == 201, made.body
        tokens.append(token)
        accounts.append(own)
    everyone = [a for own in accounts for a in own]

    journal, stop = Journal(), threading.Event()
    faults: list[str] = []
    clients = [
        threading.Thread(
            target=customer, args=(system, tokens[n], accounts[n], everyone, n, stop, journal)
        )
        for n in range(CUSTOMERS)
    ]
    for thread in clients:
        thread.start()
    try:
        chaos(nats_cluster, replicated_postgres, stream, faults)
    finally:
        stop.set()
        for thread in clients:
            thread.join(120)

    log = system.log.read_text()
    resumed = [float(s) for s in re.findall(r"publishing again after ([\d.]+) s", log)]
    print(
        f"faults: {faults}; transfers: {journal.transfers}; relay publishing again after "
        f"{resumed} s; slowest read of a transfer as of its position: "
        f"{journal.slowest_read:.1f} s; reads answered 503 and retried: "
        f"{dict(journal.reads_retried)}"
    )
    assert journal.transfers > 50, "too little load to prove anything"
    assert not journal.refused, journal.refused[:5]
    assert not journal.stale, journal.stale[:5]
    exits = re.findall(r"\] (\S+) \(pid \d+\) exited with (-?\d+)", log)
    assert not exits, f"processes exited: {exits}"

    database = system.env["DATABASE_URL"]
    container = build_container(dict.fromkeys(CONTEXTS, database))
    try:
        wait_until_caught_up(container, database)
        bus = ClusterBus(nats_cluster.nodes[0], stream, system.env["EVENTBANK_SUBJECT_PREFIX"],
                         cluster=nats_cluster)  # fmt: skip
        assert_stream_holds_each_event_once_in_order(bus, container)
        assert_projections_and_alerts(container, database)
    finally:
        container.close()


def assert_projections_and_alerts(container: Container, database: str) -> None:
    ledger = container.ledger
    opened = [
        ledger.get_account(UUID(str(n.originator_id)))
        for n in ledger.notifications_after(0, 10**6)
        if n.topic.endswith("Account.Opened")
    ]
    folded = {a.id: a.balance for a in opened}
    assert sum(folded.values()) == 0, "the books do not balance"
    assert sum(a.balance for a in opened if a.owner != CASH_OWNER) == CUSTOMERS * OPENING
    with psycopg.connect(database) as conn:
        projected: dict[UUID, int] = dict(
            conn.execute("SELECT id, balance FROM projections_accountsummary").fetchall()
        )
    assert projected == folded, "the accounts projection differs from the store"
    raised = [
        n.originator_id
        for n in container.compliance.notifications_after(0, 10**6)
        if n.topic.endswith("Alert.Raised")
    ]
    assert len(raised) == len(set(raised)), "an alert raised twice"
