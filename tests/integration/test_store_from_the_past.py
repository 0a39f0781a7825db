"""A store written by the code of 2026-12-07 (``tests/fixtures/store_2026_12``), read by today's.

A store is forever and the code that reads it is not: every stored shape the code has changed
since must still read as it did. Loaded into fresh stores of either kind, the old store's every
aggregate folds to the facts the old code folded, every projection rebuilds to the rows it
built, and the relay publishes the same messages, with the same ``Nats-Msg-Id``s (a payload
may gain a field, never lose or rename one). And what that code left going goes on: its orders,
paid by transfer when holds did not exist, are refunded by transfer when cancelled, and ship
with nothing to capture.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from rest_framework.test import APIClient

from config.container import Container
from ledger.holds import Hold
from messaging.runtime import relay_events, run_subscribers
from ops.audit import audit
from projections.projectors import PROJECTORS
from projections.rebuild import rebuild
from tests.fixtures import store_2026_12 as past
from tests.fixtures.store_2026_12.make_store import plain  # as the old facts were written
from tests.integration.conftest import Bus
from tests.support import check_books, read_stream

pytestmark = pytest.mark.django_db(transaction=True)

# What an old event's payload gained since, by type, as its upcaster fills it in.
GAINED: dict[str, dict[str, Any]] = {
    "order_placement.started": {"payment": "transfer"},  # OrderSaga.Started.upcast_v1_v2
    "order_cancellation.started": {"payment": "transfer"},
}


@pytest.fixture
def old_store(container: Container) -> Container:
    past.load(container.applications)
    return container


def test_every_aggregate_folds_to_what_it_was(old_store: Container) -> None:
    expected = past.expected()["aggregates"]
    assert len(expected) == 70
    for aggregate_id, was in expected.items():
        app = old_store.applications[was["context"]]
        aggregate: Any = app.repository.get(UUID(aggregate_id))
        assert type(aggregate).__qualname__ == was["class"]
        assert aggregate.version == was["version"]
        now = plain(vars(aggregate))
        for name, value in was["state"].items():
            assert now[name] == value, f"{was['class']} {aggregate_id}: {name}"


def test_snapshots_from_the_past_are_read(old_store: Container) -> None:
    """Bob's account was snapshotted twice; its fold starts from the newest snapshot."""
    (bob,) = [
        UUID(i)
        for i, a in past.expected()["aggregates"].items()
        if a["class"] == "Account" and a["state"]["owner"] == "bob"
    ]
    assert old_store.ledger.snapshots is not None
    snapshots = list(old_store.ledger.snapshots.get(bob, desc=True, limit=1))
    assert [s.originator_version for s in snapshots] == [200]
    account: Any = old_store.ledger.repository.get(bob)
    assert account.balance == past.expected()["aggregates"][str(bob)]["state"]["balance"]


@pytest.mark.parametrize("name", sorted(PROJECTORS))
def test_every_projection_rebuilds_to_its_old_rows(old_store: Container, name: str) -> None:
    rebuild(name, old_store.applications, source="store")
    model = PROJECTORS[name].model
    expected = past.expected()["projections"].get(name)
    if expected is None:  # a projection made since (profiles: the old code had no customers)
        assert not model._default_manager.exists()  # finds none of its events in the old store
        return
    # The columns the old rows had; a column added since holds its default on the old history.
    fields = [f for f in model._meta.local_concrete_fields if f.name in expected[0]]
    rows = sorted(
        (
            plain({f.name: getattr(r, f.attname) for f in fields})
            for r in model._default_manager.all()
        ),
        key=lambda r: json.dumps(r, sort_keys=True),
    )
    assert rows == expected


def test_the_relay_publishes_the_same_messages(old_store: Container, bus: Bus) -> None:
    asyncio.run(relay_events(old_store.applications, bus.url, once=True, stop=asyncio.Event()))
    messages = asyncio.run(read_stream(bus.url, bus.stream))
    sent = [
        {
            "subject": m.subject.replace(bus.prefix, "eventbank", 1),  # the test's own prefix
            "msg_id": m.headers["Nats-Msg-Id"],
            "envelope": json.loads(m.data),
        }
        for m in messages
    ]
    gains = [gained(m["envelope"]) for m in sent]
    assert sum(map(bool, gains)) == 7  # six placements and a cancellation started then
    key = lambda m: m["msg_id"]  # noqa: E731  # the sources' logs interleave on the stream
    assert sorted(sent, key=key) == sorted(past.published(), key=key)


def gained(envelope: dict[str, Any]) -> dict[str, Any]:
    """Take from a republished envelope what its type gained since (``GAINED``), checking it is
    there; what remains is the envelope as the old relay published it."""
    expected = GAINED.get(envelope["type"], {})
    found = {name: envelope["data"].pop(name, None) for name in expected}
    assert found == expected, envelope["type"]
    return found


def test_the_books_of_the_past_balance_and_old_accounts_take_holds(
    old_store: Container, bus: Bus
) -> None:
    """Its deposits were stored before double entry, with no cash account leg: the audit counts
    them apart, and the books balance. Old accounts take holds like new ones."""
    accounts = past.expected()["aggregates"]
    bob, alice = (
        next(UUID(i) for i, a in accounts.items() if a["state"].get("owner") == owner)
        for owner in ("bob", "alice")
    )
    hold = old_store.ledger.place_hold(bob, alice, 1_000_00)
    old_store.ledger.capture_hold(hold.id, 250_00)
    old_store.ledger.deposit(alice, 10_00, "after the change")
    asyncio.run(relay_events(old_store.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(
        run_subscribers(["projection:accounts", "projection:transactions"], bus.url, once=True)
    )
    result = audit(old_store.ledger)
    assert result.discrepancies == []
    (eur, usd) = result.balances
    assert eur.before_double_entry > 0 and usd.before_double_entry == 1_000_00
    assert eur.system["system:cash"] == -10_00  # the one deposit since, with its other leg
    was = accounts[str(bob)]["state"]["balance"]
    assert old_store.ledger.get_account(bob).balance == was - 250_00


# --- What the old code left going --------------------------------------------------------------


def the_old(kind: str, **facts: Any) -> UUID:
    """The id of the one old aggregate of class ``kind`` with these facts."""
    (found,) = [
        UUID(i)
        for i, a in past.expected()["aggregates"].items()
        if a["class"] == kind and all(a["state"].get(k) == v for k, v in facts.items())
    ]
    return found


def kept_order(store: Container) -> tuple[UUID, UUID]:
    """Carol's teapot: confirmed and paid by transfer then, never shipped nor cancelled. Carol's
    account was frozen since (an escalated alert); unfrozen here, so it can take a refund."""
    order = the_old("Order", customer="carol", status="confirmed")
    account = the_old("Account", owner="carol")
    store.ledger.unfreeze_account(account)
    return order, account


def no_hold_was_ever_placed(store: Container) -> bool:
    topic = get_topic(Hold.Placed)
    return store.ledger.notifications_after(0, 100_000, topics=[topic]) == []


def test_an_old_order_paid_by_transfer_is_refunded_by_transfer_when_cancelled(
    old_store: Container, staff_client: APIClient
) -> None:
    order_id, carol = kept_order(old_store)
    ledger, merchant = old_store.ledger, old_store.ledger.merchant_account("EUR")
    before = (ledger.get_account(carol).balance, merchant.balance)
    teapot = old_store.orders.get_product("teapot")
    response = staff_client.post(f"/api/orders/{order_id}/cancel/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    order = old_store.orders.get_order(order_id)
    assert (str(order.payment_method), str(order.payment_status)) == ("transfer", "refunded")
    assert order.refund_id is not None
    refund = ledger.get_transfer(order.refund_id)
    assert (refund.status, refund.from_account, refund.to_account, refund.amount) == (
        "completed", merchant.id, carol, order.total,
    )  # fmt: skip
    assert (ledger.get_account(carol).balance, ledger.merchant_account("EUR").balance) == (
        before[0] + order.total, before[1] - order.total,
    )  # fmt: skip
    assert old_store.orders.get_product("teapot").reserved == teapot.reserved - 1
    assert no_hold_was_ever_placed(old_store)
    check_books(ledger)


def test_an_old_order_paid_by_transfer_ships_with_nothing_to_capture(
    old_store: Container, staff_client: APIClient
) -> None:
    order_id, carol = kept_order(old_store)
    ledger = old_store.ledger
    before = (ledger.get_account(carol).balance, ledger.merchant_account("EUR").balance)
    teapot = old_store.orders.get_product("teapot")
    response = staff_client.post(f"/api/orders/{order_id}/ship/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "shipped"
    assert (ledger.get_account(carol).balance, ledger.merchant_account("EUR").balance) == before
    shipped = old_store.orders.get_product("teapot")
    assert (shipped.on_hand, shipped.reserved) == (teapot.on_hand - 1, teapot.reserved - 1)
    assert str(old_store.orders.get_order(order_id).payment_status) == "processed"
    assert no_hold_was_ever_placed(old_store)
    check_books(ledger)
