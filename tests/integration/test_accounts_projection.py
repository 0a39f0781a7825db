"""The accounts projection through the real path — store, relay, stream, projector — equals a
fold of the event store; replays change nothing; the list endpoint reads it, read-your-writes."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from config.container import Container
from ledger.domain import LedgerError
from messaging.models import SubscriberPosition
from messaging.runtime import relay_events, run_subscribers
from projections.models import AccountSummary, TransferSummary
from tests.integration.conftest import Bus
from tests.integration.test_ledger_api import assert_error, deposit, open_account
from tests.integration.test_transactions_projection import entries_in_store, entries_projected

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNTS = "projection:accounts"


def project(container: Container, bus: Bus) -> None:
    """Relay what is stored, then let the ledger's projections apply what is on the stream."""
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    names = [ACCOUNTS, "projection:transactions", "projection:transfers"]
    asyncio.run(run_subscribers(names, bus.url, once=True))


def assert_projection_equals_the_store(container: Container) -> None:
    rows = {row.id: row for row in AccountSummary.objects.all()}
    ledger = container.ledger
    opened = {
        n.originator_id
        for n in ledger.notifications_after(0, 100_000)
        if n.topic.endswith("Account.Opened")
    }
    assert set(rows) == opened
    for account_id, row in rows.items():
        account = ledger.get_account(account_id)
        assert (row.owner, row.currency, row.balance, row.status, row.version) == (
            account.owner, account.currency, account.balance, str(account.status), account.version,
        )  # fmt: skip


def assert_transfers_equal_the_store(container: Container) -> None:
    ledger = container.ledger
    started = {
        n.originator_id
        for n in ledger.notifications_after(0, 100_000)
        if n.topic.endswith("Transfer.Started")
    }
    rows = {row.id: row for row in TransferSummary.objects.all()}
    assert set(rows) == started
    for transfer_id, row in rows.items():
        transfer = ledger.get_transfer(transfer_id)
        assert (row.status, row.amount, row.failure_code, row.version) == (
            str(transfer.status), transfer.amount, transfer.failure_code, transfer.version,
        )  # fmt: skip
        assert [(s["name"], s["status"]) for s in row.steps] == [
            (s["name"], s["status"]) for s in transfer.history
        ]


workloads = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(0, 2), st.integers(1, 900)),
        st.tuples(st.just("withdraw"), st.integers(0, 2), st.integers(1, 900)),
        st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 2), st.integers(1, 900)),
        st.tuples(st.just("freeze"), st.integers(0, 2)),
        st.tuples(st.just("unfreeze"), st.integers(0, 2)),
        st.tuples(
            st.just("project"),
        ),
    ),
    max_size=25,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(workload=workloads)
def test_the_projection_equals_a_fold_of_the_store(
    container: Container, bus: Bus, workload: list[tuple[Any, ...]]
) -> None:
    ledger = container.ledger
    accounts = [ledger.open_account(f"c{uuid4().hex[:6]}", "EUR").id for _ in range(3)]
    for kind, *args in workload:
        try:
            if kind == "deposit":
                ledger.deposit(accounts[args[0]], args[1], str(uuid4()))
            elif kind == "withdraw":
                ledger.withdraw(accounts[args[0]], args[1], str(uuid4()))
            elif kind == "transfer":
                ledger.transfer_funds(accounts[args[0]], accounts[args[1]], args[2])
            elif kind == "freeze":
                ledger.freeze_account(accounts[args[0]], "property")
            elif kind == "unfreeze":
                ledger.unfreeze_account(accounts[args[0]])
            else:
                project(container, bus)  # projecting mid-way must not matter
        except LedgerError:
            pass
    project(container, bus)
    assert_projection_equals_the_store(container)
    assert entries_projected() == entries_in_store(container)
    assert_transfers_equal_the_store(container)


def test_a_replay_from_the_beginning_changes_nothing(container: Container, bus: Bus) -> None:
    ledger = container.ledger
    account = ledger.open_account("alice", "EUR")
    ledger.deposit(account.id, 500, "d1")
    project(container, bus)
    before = list(AccountSummary.objects.values())
    asyncio.run(run_subscribers([ACCOUNTS], bus.url, once=True, from_sequence=1))
    assert list(AccountSummary.objects.values()) == before
    assert (
        SubscriberPosition.objects.get(name=ACCOUNTS).caught_up_to("ledger")
        == ledger.max_position()
    )


@pytest.fixture
def alice(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


def test_the_list_shows_a_customer_only_its_own_accounts(
    container: Container, bus: Bus, alice, staff_client, make_user, client_for
) -> None:
    mine = open_account(alice)["id"]
    theirs = open_account(client_for(make_user("bob")))["id"]
    deposit(staff_client, mine, "7.00")
    project(container, bus)
    listed = alice.get("/api/accounts/").json()
    assert [a["id"] for a in listed["results"]] == [mine] and listed["count"] == 1
    assert listed["results"][0]["balance"] == "7.00"
    everyone = {a["id"] for a in staff_client.get("/api/accounts/").json()["results"]}
    assert {mine, theirs} <= everyone
    assert [a["id"] for a in staff_client.get("/api/accounts/?owner=bob").json()["results"]] == [
        theirs
    ]


def test_filters_and_ordering(container: Container, bus: Bus, alice, staff_client) -> None:
    small, big = open_account(alice)["id"], open_account(alice)["id"]
    deposit(staff_client, small, "1.00")
    deposit(staff_client, big, "9.00")
    staff_client.post(f"/api/accounts/{small}/freeze/", {"reason": "check"}, format="json")
    project(container, bus)
    assert [a["id"] for a in alice.get("/api/accounts/?ordering=-balance").json()["results"]] == [
        big,
        small,
    ]
    assert [a["id"] for a in alice.get("/api/accounts/?status=frozen").json()["results"]] == [small]
    assert_error(alice.get("/api/accounts/?status=sleeping"), 400, "invalid")
    assert_error(alice.get("/api/accounts/?ordering=owner;drop"), 400, "invalid")


def test_min_position_waits_for_the_projection_then_reads_the_write(
    container: Container, bus: Bus, alice, staff_client
) -> None:
    account = open_account(alice)["id"]
    project(container, bus)
    response = staff_client.post(
        f"/api/accounts/{account}/deposits/", {"amount": "3.00"}, format="json"
    )
    position = response.json()["position"]
    projector = threading.Timer(0.5, project, args=(container, bus))  # a little later
    projector.start()
    listed = alice.get(f"/api/accounts/?min_position={position}").json()["results"]
    projector.join()
    assert listed[0]["balance"] == "3.00"


def test_min_position_answers_503_when_the_projection_stays_behind(
    container: Container, bus: Bus, alice, settings
) -> None:
    settings.READ_YOUR_WRITES_TIMEOUT_SECONDS = 0.2
    open_account(alice)
    body = assert_error(alice.get("/api/accounts/?min_position=999999"), 503, "projection_behind")
    assert body["details"] == {"projection": "accounts", "source": "ledger", "min_position": 999999}
    assert_error(alice.get("/api/accounts/?min_position=-1"), 400, "invalid")


def test_a_replay_from_the_stores_builds_the_same_projection(
    container: Container, commands
) -> None:
    """No stream at all: history comes straight from the event stores."""
    ledger = container.ledger
    a, b = ledger.open_account("alice", "EUR").id, ledger.open_account("bob", "EUR").id
    ledger.deposit(a, 900, "d1")
    ledger.transfer_funds(a, b, 400)
    ledger.freeze_account(b, "check")
    output = commands.run("run_subscriber", ACCOUNTS, "--source", "store").stdout
    # account.*: three opened (the cash account's with the first deposit), the deposit's two
    # legs, the transfer's debit and credit, the freeze
    assert "replayed 8 stored events" in output
    assert_projection_equals_the_store(container)
