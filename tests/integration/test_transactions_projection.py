"""The transactions projection: one row per ledger entry, equal to the store's entries, replay-
safe, and read per account through the API (visible to its owner only)."""

from __future__ import annotations

import asyncio

import pytest
from rest_framework.test import APIClient

from config.container import Container
from messaging.runtime import relay_events, run_subscribers
from projections.models import LedgerEntry
from tests.integration.conftest import Bus
from tests.integration.test_ledger_api import assert_error, deposit, open_account

pytestmark = pytest.mark.django_db(transaction=True)
TRANSACTIONS = "projection:transactions"


def project(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers([TRANSACTIONS], bus.url, once=True))


def entries_in_store(container: Container) -> list[tuple]:
    """(account, version, direction, kind, amount, balance) of every Credited/Debited event."""
    ledger, found = container.ledger, []
    for n in ledger.notifications_after(0, 100_000):
        event = ledger.decode(n)
        kind = type(event).__name__
        if kind in ("Credited", "Debited"):
            direction = "credit" if kind == "Credited" else "debit"
            found.append(
                (
                    n.originator_id,
                    n.originator_version,
                    direction,
                    event.kind,
                    event.amount,
                    event.balance,
                )
            )
    return sorted(found)


def entries_projected() -> list[tuple]:
    return sorted(
        LedgerEntry.objects.values_list(
            "account_id", "version", "direction", "kind", "amount", "balance_after"
        )
    )


def test_every_entry_is_projected_once_and_a_replay_adds_nothing(
    container: Container, bus: Bus
) -> None:
    ledger = container.ledger
    a, b = ledger.open_account("alice", "EUR").id, ledger.open_account("bob", "EUR").id
    ledger.deposit(a, 1000, "d1")
    ledger.withdraw(a, 100, "w1")
    transfer = ledger.transfer_funds(a, b, 300)
    ledger.freeze_account(b, "check")
    ledger.transfer_funds(a, b, 50)  # refused by the frozen account: debit, then refund
    project(container, bus)
    assert entries_projected() == entries_in_store(container)
    row = LedgerEntry.objects.get(account_id=b, kind="transfer")
    assert (row.transfer_id, row.counterparty, row.direction) == (transfer.id, a, "credit")

    asyncio.run(run_subscribers([TRANSACTIONS], bus.url, once=True, from_sequence=1))
    assert entries_projected() == entries_in_store(container)


def test_an_account_s_transactions_over_http(
    container: Container, bus: Bus, make_user, client_for, staff_client
) -> None:
    alice: APIClient = client_for(make_user("alice"))
    account = open_account(alice)["id"]
    deposit(staff_client, account, "10.00")
    withdrawal = alice.post(
        f"/api/accounts/{account}/withdrawals/", {"amount": "2.50"}, format="json"
    ).json()
    project(container, bus)
    page = alice.get(
        f"/api/accounts/{account}/transactions/?min_position={withdrawal['position']}"
    ).json()
    assert [
        (e["direction"], e["kind"], e["amount"], e["balance_after"]) for e in page["results"]
    ] == [
        ("debit", "withdrawal", "2.50", "7.50"),
        ("credit", "deposit", "10.00", "10.00"),
    ]
    assert [
        e["kind"]
        for e in alice.get(f"/api/accounts/{account}/transactions/?kind=deposit").json()["results"]
    ] == ["deposit"]
    assert_error(alice.get(f"/api/accounts/{account}/transactions/?kind=gift"), 400, "invalid")
    stranger = client_for(make_user("mallory"))
    assert_error(stranger.get(f"/api/accounts/{account}/transactions/"), 404, "not_found")
