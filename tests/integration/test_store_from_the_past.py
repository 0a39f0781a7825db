"""A store written by the code of 2026-12-07 (``tests/fixtures/store_2026_12``), read by today's.

A store is forever and the code that reads it is not: every stored shape the code has changed
since must still read as it did. Loaded into fresh stores of either kind, the old store's every
aggregate folds to the facts the old code folded, every projection rebuilds to the rows it
built, and the relay publishes the same messages, with the same ``Nats-Msg-Id``s.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import pytest

from config.container import Container
from messaging.runtime import relay_events, run_subscribers
from ops.audit import audit
from projections.projectors import PROJECTORS
from projections.rebuild import rebuild
from tests.fixtures import store_2026_12 as past
from tests.fixtures.store_2026_12.make_store import plain  # as the old facts were written
from tests.integration.conftest import Bus
from tests.support import read_stream

pytestmark = pytest.mark.django_db(transaction=True)


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
    key = lambda m: m["msg_id"]  # noqa: E731  # the sources' logs interleave on the stream
    assert sorted(sent, key=key) == sorted(past.published(), key=key)


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
