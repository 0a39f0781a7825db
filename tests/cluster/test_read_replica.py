"""Read replicas (``DATABASE_REPLICA_URL``), proved on a real streaming standby.

The whole system runs (``run_all``) on a PostgreSQL primary of the test's own, with a hot
standby made by ``pg_basebackup -R`` named as its replica. Then:

- under a load of transfers, every read given the transfer's ``position`` as ``min_position``
  (REST and GraphQL) shows the transfer: the wait reads the subscriber's position on the
  standby, where it arrives with its rows;
- with the standby's replay paused, a list is stale (it is read on the standby) and a read with
  ``min_position`` answers 503 ``projection_behind`` (the wait reads the standby's position, not
  the primary's, which has caught up); ``/healthz`` shows the lag;
- with the standby stopped, the lists are read on the primary, fresh, and ``/healthz`` says the
  replica is away but answers 200; started again, reads go back to it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import psycopg
import pytest

from tests.cluster.conftest import ReplicatedPostgres
from tests.e2e.conftest import Answer, RunningSystem
from tests.support import wait_for

pytestmark = [
    pytest.mark.slow,
    # A customer thread that dies quietly would leave the load lighter than it says.
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

PASSWORD = "replica-pass-42"
OPENING = 1_000_00  # cents deposited into each customer's first account
ACCOUNTS_QUERY = """
query Accounts($position: Position) {
  accounts(minPosition: $position) { results { id balance } }
}
"""


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def balances(answer: Answer) -> dict[str, str]:
    if "data" in answer.body:  # GraphQL
        return {a["id"]: a["balance"] for a in answer.body["data"]["accounts"]["results"]}
    return {a["id"]: a["balance"] for a in answer.body["results"]}


def read_accounts(system: RunningSystem, token: str, position: int, graphql: bool) -> Answer:
    """The customer's accounts as of ``position``, retried while a wait is refused for being
    one too many (503 ``projection_behind`` before any wait: the client's part is to retry)."""
    deadline = time.monotonic() + 20
    while True:
        if graphql:
            query = {"query": ACCOUNTS_QUERY, "variables": {"position": position}}
            answer = system.post("/graphql", query, token=token)
            errors = answer.body.get("errors") or []
            behind = any(e["extensions"]["code"] == "projection_behind" for e in errors)
        else:
            answer = system.get(f"/api/accounts/?min_position={position}", token=token)
            behind = answer.status == 503 and answer.body["code"] == "projection_behind"
        if not behind or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def applied_on_primary(system: RunningSystem, subscriber: str) -> int:
    """The ledger position ``subscriber`` has applied, as the primary has it."""
    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as conn:
        row = conn.execute(
            "SELECT source_positions FROM messaging_subscriberposition WHERE name = %s",
            (subscriber,),
        ).fetchone()
    return int(row[0].get("ledger", 0)) if row else 0


def transfer(system: RunningSystem, token: str, source: str, target: str, cents: int) -> int:
    answer = system.post(
        "/api/transfers/",
        {"from_account": source, "to_account": target, "amount": money(cents)},
        token=token,
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert answer.status == 201, answer.body
    return int(answer.body["position"])


def new_customers(system: RunningSystem, prefix: str, count: int) -> list[str]:
    """Tokens of ``count`` new customers (made side by side: each is a process of its own)."""
    with ThreadPoolExecutor(count) as pool:
        names = [f"{prefix}-{uuid4().hex[:6]}" for _ in range(count)]
        return list(pool.map(lambda name: system.customer_token(name, PASSWORD), names))


def test_reads_with_min_position_on_the_replica_are_never_stale_under_load(
    replica_system: RunningSystem, operator: str, replicated_postgres: ReplicatedPostgres
) -> None:
    system = replica_system
    customers = new_customers(system, "reader", 3)
    stale: list[str] = []
    reads: list[str] = []  # which API each read went through (appending is thread-safe)

    def customer(token: str) -> None:
        source, target = system.funded_accounts(token, operator, money(OPENING))
        for n in range(12):
            position = transfer(system, token, source, target, 100)
            graphql = n % 2 == 1
            answer = read_accounts(system, token, position, graphql)
            reads.append("graphql" if graphql else "rest")
            seen = balances(answer)
            expected = {source: money(OPENING - 100 * (n + 1)), target: money(100 * (n + 1))}
            if answer.status != 200 or seen != expected:
                stale.append(f"after position {position}: {answer.status} {answer.body}")

    threads = [threading.Thread(target=customer, args=(token,)) for token in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert stale == []
    assert Counter(reads) == {"rest": 18, "graphql": 18}

    # Proof that those reads were the standby's: with its replay paused, a list read is stale,
    # and the wait, reading the standby's position, gives up though the primary caught up.
    token = customers[0]
    accounts = balances(system.get("/api/accounts/", token=token))
    source = next(a for a, balance in accounts.items() if balance == money(OPENING - 1200))
    target = next(a for a in accounts if a != source)
    replicated_postgres.standby_sql("SELECT pg_wal_replay_pause()")
    try:
        position = transfer(system, token, source, target, 100)
        wait_for(
            lambda: applied_on_primary(system, "projection:accounts") >= position,
            what="the accounts projection to apply the transfer on the primary",
        )
        assert balances(system.get("/api/accounts/", token=token))[source] == money(OPENING - 1200)
        behind = system.get(f"/api/accounts/?min_position={position}", token=token)
        assert (behind.status, behind.body["code"]) == (503, "projection_behind")
        health = system.get("/healthz")
        replica = health.body["replica"]
        assert health.status == 200, health.body
        assert replica["reads_from"] == "replica"
        assert replica["lag_bytes"] > 0 and replica["lag_seconds"] > 0, replica
    finally:
        replicated_postgres.standby_sql("SELECT pg_wal_replay_resume()")
    answer = read_accounts(system, token, position, graphql=False)
    assert balances(answer)[source] == money(OPENING - 1300)
    replica = wait_for(
        lambda: (r := system.get("/healthz").body["replica"])["lag_bytes"] == 0 and r,
        timeout=10,
        what="the standby to catch up",
    )
    assert replica == {"ok": True, "reads_from": "replica", "lag_seconds": 0.0, "lag_bytes": 0}


def test_with_the_standby_stopped_reads_fall_back_to_the_primary(
    replica_system: RunningSystem, operator: str, replicated_postgres: ReplicatedPostgres
) -> None:
    system = replica_system
    (token,) = new_customers(system, "patient", 1)
    source, target = system.funded_accounts(token, operator, money(OPENING))
    position = transfer(system, token, source, target, 100)
    assert read_accounts(system, token, position, graphql=False).status == 200

    replicated_postgres.standby.stop()
    try:
        # Every answer is a fresh read from the primary: none fails, whichever worker answers.
        for n in range(2, 8):
            position = transfer(system, token, source, target, 100)
            answer = read_accounts(system, token, position, graphql=n % 2 == 1)
            assert answer.status == 200, answer.body
            assert balances(answer)[source] == money(OPENING - 100 * n)
        orders = system.get("/api/orders/", token=token)
        assert orders.status == 200, orders.body
        health = system.get("/healthz")
        assert health.status == 200, health.body
        replica = health.body["replica"]
        assert (replica["ok"], replica["reads_from"]) == (False, "primary"), replica
        assert "OperationalError" in replica["error"]
    finally:
        replicated_postgres.standby.start()

    def back() -> bool:  # each of the web workers, asked in turn, reads from it again
        answers = [system.get("/healthz").body["replica"] for _ in range(6)]
        return all(a["ok"] and a["reads_from"] == "replica" for a in answers)

    wait_for(back, timeout=20, interval=0.5, what="reads to go back to the standby")
    position = transfer(system, token, source, target, 100)
    answer = read_accounts(system, token, position, graphql=True)
    assert balances(answer)[source] == money(OPENING - 800)
