"""Faults on purpose, invariants after: Jepsen's method in miniature.

The real system — ``run_all``'s web server, relay, projections, compliance screening, the
ledger's compliance decisions and saga recovery, each its own process — runs on a PostgreSQL
cluster and a nats-server of this test's own. Customers drive transfers, holds (which staff
capture, in full or in part, or void), orders and cancellations over HTTP, each request with an
``Idempotency-Key`` they retry with until it gets an answer; impatient customers send transfers
and orders once and never look back, so a saga their request started and a kill interrupted is
recovery's alone to finish. Meanwhile, at seeded moments, a process or a web worker is
SIGKILLed, the NATS server restarts and PostgreSQL is stopped and started again. When the faults
are over and recovery has run:

- money is conserved across all accounts, the merchant's included, and none is negative;
  ``audit_ledger`` finds the books balanced, in the store and in the projections;
- every hold ended once, as the answer to its capture or void said;
- every saga is finished, every order confirmed or cancelled, stock exact;
- the stream holds every stored event once per ``Nats-Msg-Id``, in each source's order;
- the projections equal a fold of the event stores; each alert was raised once;
- the web server said 503 (never 500, and never nothing for 30 s) while the database was
  away, and a retried key made exactly one transfer;
- no process exited but those killed: a NATS restart, the database away or a web worker's death
  cost no subscriber and no web server its life (the supervisor's log says so).

``EVENTBANK_FAULT_SEED=<n>`` replays a run; the seed is printed when a run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import random
import re
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from config.container import Container, build_container
from ledger.domain import CASH_OWNER
from messaging.embedded import NatsServer
from tests.conftest import CONTEXTS, PrivatePostgres
from tests.e2e.conftest import Answer, RunningSystem, wait_until_caught_up
from tests.support import read_stream, wait_for

pytestmark = [
    pytest.mark.slow,
    # A client thread that dies quietly would leave the load lighter than it says.
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

SEED = int(os.environ.get("EVENTBANK_FAULT_SEED", random.SystemRandom().randrange(10**6)))
LOAD_SECONDS = 45
CUSTOMERS = 3
IMPATIENT = 2  # of the customers, those who send each request once and do not wait long
OPENING = 50_000_00  # each customer account's deposit, in cents
PRODUCTS = {"LAMP": ("Lamp", "25.00", 30), "DESK": ("Desk", "180.00", 6)}
KILLABLE = ("web", "relay", "projections", "compliance", "compliance-decisions", "saga-recovery")
WORKER_KILLS = 3  # SIGKILLs of one of the web server's workers, which granian replaces


@dataclass
class Journal:
    """What the clients saw: every final answer, and any answer a client must never get."""

    transfers: dict[str, Answer] = field(default_factory=dict)  # key -> final answer
    holds: dict[str, Answer] = field(default_factory=dict)  # hold id -> its capture's or void's
    orders: dict[str, Answer] = field(default_factory=dict)
    cancels: int = 0
    unavailable: int = 0  # 503s, retried
    slowest_unavailable: float = 0.0  # seconds the slowest 503 took to come
    hung: list[str] = field(default_factory=list)  # requests that got no answer in 30 s
    forbidden: list[str] = field(default_factory=list)  # 500s and other surprises
    lock: threading.Lock = field(default_factory=threading.Lock)


def retrying(system: RunningSystem, path: str, body: Any, token: str, journal: Journal) -> Answer:
    """POST with one Idempotency-Key until the system answers (a 503, a refused connection
    or a timeout is retried with the same key, as a careful client does)."""
    key = str(uuid4())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            answer = system.post(path, body, token=token, headers={"Idempotency-Key": key})
        except http.client.HTTPException:  # a worker killed while it answered: ask again
            time.sleep(0.2)
            continue
        except OSError as error:  # the web server is being restarted, or the request hung
            if isinstance(error, TimeoutError) or isinstance(
                getattr(error, "reason", None), TimeoutError
            ):
                with journal.lock:
                    journal.hung.append(f"{path} ({key})")
            time.sleep(0.2)
            continue
        if answer.status == 503:
            with journal.lock:
                journal.unavailable += 1
                journal.slowest_unavailable = max(
                    journal.slowest_unavailable, time.monotonic() - started
                )
            time.sleep(0.2)
            continue
        if answer.status >= 500:
            with journal.lock:
                journal.forbidden.append(f"{answer.status} on {path}: {answer.body}")
        return answer
    raise AssertionError(f"no answer for {path} in 120 s (seed {SEED})")


def customer(
    system: RunningSystem,
    token: str,
    own: list[str],
    everyone: list[str],
    rng: random.Random,
    stop: threading.Event,
    journal: Journal,
    *,
    staff: str,
) -> None:
    confirmed: list[str] = []
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.15:
            source = rng.choice(own)
            payee = rng.choice([a for a in everyone if a != source])
            hold_and_settle(system, token, staff, source, payee, rng, journal)
        elif roll < 0.55:
            amount = "12000.00" if rng.random() < 0.03 else f"{rng.randint(1, 30000) / 100:.2f}"
            source = rng.choice(own)
            body: dict[str, Any] = {
                "from_account": source,
                "to_account": rng.choice([a for a in everyone if a != source]),
                "amount": amount,
                "reference": str(uuid4()),
            }
            answer = retrying(system, "/api/transfers/", body, token, journal)
            with journal.lock:
                journal.transfers[body["reference"]] = answer
        elif roll < 0.85 or not confirmed:
            sku = rng.choice(list(PRODUCTS))
            body = {
                "account": own[0],
                "items": [{"sku": sku, "quantity": rng.randint(1, 2)}],
            }
            answer = retrying(system, "/api/orders/", body, token, journal)
            with journal.lock:
                journal.orders[str(uuid4())] = answer
            if answer.status == 201:
                confirmed.append(answer.body["id"])
        else:
            order = confirmed.pop(rng.randrange(len(confirmed)))
            retrying(system, f"/api/orders/{order}/cancel/", {}, token, journal)
            with journal.lock:
                journal.cancels += 1


def hold_and_settle(
    system: RunningSystem,
    token: str,
    staff: str,
    source: str,
    payee: str,
    rng: random.Random,
    journal: Journal,
) -> None:
    """A hold the customer places, which staff then capture in full or in part, or void."""
    cents = rng.randint(2, 30000)
    body = {"from_account": source, "to_account": payee, "amount": f"{cents / 100:.2f}"}
    placed = retrying(system, "/api/holds/", body, token, journal)
    if placed.status != 201:
        assert placed.status == 409, placed.body  # insufficient funds, and nothing held
        return
    hold = placed.body["id"]
    move = rng.choice(["capture", "capture part", "void"])
    if move == "void":
        settled = retrying(system, f"/api/holds/{hold}/void/", {}, staff, journal)
    else:
        part = {"amount": f"{rng.randint(1, cents - 1) / 100:.2f}"}
        if move == "capture":
            part = {}  # all of it
        settled = retrying(system, f"/api/holds/{hold}/capture/", part, staff, journal)
    with journal.lock:
        journal.holds[hold] = settled


def impatient(
    system: RunningSystem,
    token: str,
    own: list[str],
    everyone: list[str],
    rng: random.Random,
    stop: threading.Event,
    journal: Journal,
) -> None:
    """Transfers and orders sent once, with a short patience: whatever became of them is the
    system's to finish (a refused connection, a timeout, a 503 are simply given up on)."""
    while not stop.is_set():
        source = rng.choice(own)
        body: dict[str, Any]
        if rng.random() < 0.7:
            path, body = (
                "/api/transfers/",
                {
                    "from_account": source,
                    "to_account": rng.choice([a for a in everyone if a != source]),
                    "amount": f"{rng.randint(1, 5000) / 100:.2f}",
                },
            )
        else:
            sku = rng.choice(list(PRODUCTS))
            path, body = "/api/orders/", {"account": source, "items": [{"sku": sku, "quantity": 1}]}
        try:
            answer = system.request("POST", path, body, token=token, timeout=rng.uniform(0.05, 2))
        except (OSError, http.client.HTTPException):
            continue  # given up on
        if answer.status >= 500 and answer.status != 503:
            with journal.lock:
                journal.forbidden.append(f"{answer.status} on {path}: {answer.body}")


def web_workers(system: RunningSystem) -> list[int]:
    """The web server's worker processes (its children, read from /proc)."""
    web = system.child_pid("web")
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # the web just died
        return [int(p) for p in open(f"/proc/{web}/task/{web}/children").read().split()]
    return []


def inject_faults(
    system: RunningSystem,
    nats: NatsServer,
    postgres: PrivatePostgres,
    rng: random.Random,
    stop: threading.Event,
    done: list[str],
    killed: set[int],
) -> None:
    """A seeded schedule: kills of each kind of process and of web workers, one NATS restart,
    one outage. ``killed`` gets every pid this killed."""
    plan = [*(("kill", name) for name in KILLABLE), ("kill", rng.choice(KILLABLE))]
    plan += [("worker", "")] * WORKER_KILLS + [("nats", ""), ("postgres", "")]
    rng.shuffle(plan)
    gap = LOAD_SECONDS / (len(plan) + 1)
    for kind, name in plan:
        if stop.wait(rng.uniform(0.5 * gap, 1.2 * gap)):
            return
        if kind == "kill":
            pid = system.child_pid(name)
            with contextlib.suppress(ProcessLookupError):  # it was restarting already
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        elif kind == "worker":
            workers = web_workers(system)
            if not workers:
                continue  # the web server itself is being restarted
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(workers), signal.SIGKILL)
        elif kind == "nats":
            nats.kill()
            time.sleep(rng.uniform(0.5, 2.0))
            nats.start()
        else:
            postgres.pg_ctl("-m", "immediate", "stop")
            time.sleep(rng.uniform(2.0, 4.0))
            postgres.start()
        done.append(f"{kind} {name}".strip())


def test_money_stock_and_the_stream_survive_kills_and_outages(
    start_system: Any, private_postgres: PrivatePostgres, private_nats: NatsServer
) -> None:
    rng = random.Random(SEED)
    print(f"fault seed: {SEED} (EVENTBANK_FAULT_SEED={SEED} replays it)")
    with psycopg.connect(private_postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE eventbank")
    database = private_postgres.url("eventbank")
    # The customers write back to back, faster than the production brake of 600 writes a
    # minute allows once the system is quick: no throttling here (test_throttling.py has it).
    system: RunningSystem = start_system(
        nats_url=private_nats.url, database=database,
        extra_env={"EVENTBANK_WRITE_RATE": "1000000/min"},
    )  # fmt: skip
    wait_for(lambda: system.get("/healthz").status == 200, timeout=60, what="a healthy system")

    operator = system.operator_token()
    for sku, (name, price, stock) in PRODUCTS.items():
        made = system.post("/api/products/", {"sku": sku, "name": name, "price": price,
                                              "stock": stock}, token=operator)  # fmt: skip
        assert made.status == 201, made.body
    tokens, accounts = [], []
    for n in range(CUSTOMERS + IMPATIENT):
        token = system.customer_token(f"c{n}", "customer-pass-42")
        own = [system.post("/api/accounts/", {}, token=token).body["id"] for _ in range(2)]
        for account in own:
            deposit = {"amount": f"{OPENING / 100:.2f}"}
            assert system.post(f"/api/accounts/{account}/deposits/", deposit,
                               token=operator).status == 201  # fmt: skip
        tokens.append(token)
        accounts.append(own)
    everyone = [a for own in accounts for a in own]

    journal, stop = Journal(), threading.Event()
    faults: list[str] = []
    killed: set[int] = set()
    clients = [
        threading.Thread(
            target=impatient if n < IMPATIENT else partial(customer, staff=operator),
            args=(system, tokens[n], accounts[n], everyone, random.Random(SEED + n), stop, journal),
        )
        for n in range(CUSTOMERS + IMPATIENT)
    ]
    chaos = threading.Thread(
        target=inject_faults,
        args=(system, private_nats, private_postgres, rng, stop, faults, killed),
    )
    for thread in [*clients, chaos]:
        thread.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    for thread in [chaos, *clients]:
        thread.join(180)
    print(
        f"faults injected: {faults}; 503s retried: {journal.unavailable}, "
        f"the slowest in {journal.slowest_unavailable:.1f} s; transfers {len(journal.transfers)}, "
        f"holds settled {len(journal.holds)}, orders {len(journal.orders)}"
    )
    assert not journal.forbidden, f"seed {SEED}: {journal.forbidden[:5]}"
    assert not journal.hung, f"seed {SEED}: no answer in 30 s to {journal.hung[:5]}"
    assert len(faults) >= len(KILLABLE) + 2, f"seed {SEED}: only {faults}"
    assert_only_the_killed_exited(system, killed)

    wait_for(lambda: system.get("/healthz").status == 200, timeout=90, what="recovery")
    # What the impatient clients left: the recovery loop's, and now the rest, however recent.
    recovered = system.manage("recover_sagas", "--older-than", "0").count("recovered ")
    recovered += system.log.read_text().count("recovered ")
    print(f"sagas finished by recovery: {recovered}")
    container = build_container(dict.fromkeys(CONTEXTS, database))
    try:
        wait_until_caught_up(container, database)
        check_invariants(container, database, private_nats, journal, len(everyone))
    finally:
        container.close()
    print(system.manage("audit_ledger"))  # exits non-zero, failing here, on a discrepancy
    assert_only_the_killed_exited(system, killed)


def assert_only_the_killed_exited(system: RunningSystem, killed: set[int]) -> None:
    """The supervisor's log names every exit with its pid: each must be one this test killed."""
    exits = re.findall(r"\] (\S+) \(pid (\d+)\) exited with (-?\d+)", system.log.read_text())
    unasked = [f"{name} (pid {pid}) exited with {code}" for name, pid, code in exits
               if int(pid) not in killed]  # fmt: skip
    assert not unasked, f"seed {SEED}: exits nobody caused: {unasked}"


# The account events the transactions projection makes an entry of: posted and held money.
ENTRY_EVENTS = (
    "Account.Credited",
    "Account.Debited",
    "Account.DebitHeld",
    "Account.CreditHeld",
    "Account.HoldReleased",
)


def database_of(container: Container) -> str:
    return str(container._store_urls["ledger"])  # one database holds everything here


def check_invariants(
    container: Container, database: str, nats: NatsServer, journal: Journal, accounts: int
) -> None:
    ledger, orders = container.ledger, container.orders
    # Sagas: all finished.
    assert ledger.unfinished_transfers() == [], f"seed {SEED}"
    assert orders.unfinished_sagas() == [], f"seed {SEED}"

    # Money: in double entry (every account's balance, the cash account's below zero included,
    # sums to zero), conserved (what was deposited is where customers and the merchant hold
    # it), and never negative but on the cash account.
    opened = [
        ledger.get_account(UUID(str(n.originator_id)))
        for n in ledger.notifications_after(0, 10**6)
        if n.topic.endswith("Account.Opened")
    ]
    balances = {a.id: a.balance for a in opened}
    kept = [a.balance for a in opened if a.owner != CASH_OWNER]
    assert sum(balances.values()) == 0, f"seed {SEED}: the books do not balance"
    assert sum(kept) == accounts * OPENING, f"seed {SEED}: money not conserved"
    assert min(kept) >= 0, f"seed {SEED}: a negative balance"

    # Orders and stock: every order confirmed or cancelled; what is held is what is confirmed.
    held: Counter[str] = Counter()
    confirmed = 0  # what the confirmed orders cost
    for n in orders.notifications_after(0, 10**6):
        if n.topic.endswith("Order.Created"):
            order = orders.get_order(UUID(str(n.originator_id)))
            assert str(order.status) in ("confirmed", "cancelled"), (SEED, order.status)
            if str(order.status) == "confirmed":
                confirmed += order.total
                for item in order.items:
                    held[item["sku"]] += item["quantity"]
    for sku, (_, _, stock) in PRODUCTS.items():
        product = orders.get_product(sku)
        assert product.reserved == held[sku], f"seed {SEED}: {sku} holds the wrong stock"
        assert product.on_hand == stock and product.reserved <= stock, f"seed {SEED}: oversold"
    # Nothing ships here: a confirmed order's total is held for the merchant, not yet taken.
    merchant = ledger.merchant_account("EUR")
    assert (merchant.balance, merchant.incoming) == (0, confirmed), (
        f"seed {SEED}: what is held for the merchant is not the confirmed orders' total"
    )
    assert sum(a.held for a in opened) == confirmed, f"seed {SEED}: held is not what is confirmed"

    # Holds: each customer's ended once, as the answer its capture or void got says (and none
    # is left pending: what is held above is the confirmed orders' alone).
    for hold_id, answer in journal.holds.items():
        assert answer.status == 200, f"seed {SEED}: {hold_id} answered {answer.body}"
        hold = ledger.get_hold(UUID(hold_id))
        assert str(hold.status) == answer.body["status"], f"seed {SEED}: {hold_id}"
        endings = [e for e in ledger.stored_events(hold.id) if type(e).__name__ != "Placed"]
        assert len(endings) == 1, f"seed {SEED}: {hold_id} ended {len(endings)} times"

    # One transfer per reference, however often its request was retried.
    references = Counter(
        ledger.get_transfer(UUID(str(n.originator_id))).reference
        for n in ledger.notifications_after(0, 10**6)
        if n.topic.endswith("Transfer.Started")
    )
    for reference, answer in journal.transfers.items():
        assert references[reference] == 1, (
            f"seed {SEED}: {reference} made {references[reference]}, answered "
            f"{answer.status} {answer.body}"
        )
        assert answer.status in (201, 409, 404), answer.body

    # The stream: every stored event once per Nats-Msg-Id, in each source's order.
    messages = asyncio.run(read_stream(nats.url, "EVENTBANK"))
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert len(ids) == len(set(ids)), f"seed {SEED}: a duplicate on the stream"
    per_source: dict[str, list[int]] = {}
    for message in messages:
        envelope = json.loads(message.data)
        per_source.setdefault(envelope["source"], []).append(envelope["position"])
    for source, app in container.applications.items():
        stored = [n.id for n in app.notifications_after(0, 10**6)]
        assert per_source.get(source, []) == stored, f"seed {SEED}: {source} stream differs"

    # Projections: a fold of the stores. Alerts: once per transfer and rule.
    with psycopg.connect(database) as conn:
        projected: dict[UUID, int] = dict(
            conn.execute("SELECT id, balance FROM projections_accountsummary").fetchall()
        )
        entries = conn.execute("SELECT count(*) FROM projections_ledgerentry").fetchone()
        orders_projected: dict[UUID, str] = dict(
            conn.execute("SELECT id, status FROM projections_ordersummary").fetchall()
        )
    assert projected == balances, f"seed {SEED}: the accounts projection differs"
    movements = sum(
        1 for n in ledger.notifications_after(0, 10**6) if n.topic.endswith(ENTRY_EVENTS)
    )
    assert entries is not None and entries[0] == movements, f"seed {SEED}: transactions differ"
    assert all(
        str(orders.get_order(order_id).status) == status
        for order_id, status in orders_projected.items()
    ), f"seed {SEED}: the orders projection differs"
    raised = [
        n.originator_id
        for n in container.compliance.notifications_after(0, 10**6)
        if n.topic.endswith("Alert.Raised")
    ]
    assert len(raised) == len(set(raised)), f"seed {SEED}: an alert raised twice"
