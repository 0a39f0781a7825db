"""The published form of events: names from the contract, the envelope of docs/reference.md,
exact amounts."""

from __future__ import annotations

import inspect
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate

from kernel.correlation import correlation_scope
from kernel.events import UnknownEventError, envelope, event_id
from ledger.application import LedgerApplication
from ledger.contract import LEDGER_EVENTS
from ledger.domain import Account
from ledger.saga import Transfer

API_MD_LEDGER_NAMES = {
    "account.opened", "account.credited", "account.debited", "account.frozen", "account.unfrozen",
    "transfer.started", "transfer.completed", "transfer.failed", "transfer.compensated",
}  # fmt: skip


def event_classes(aggregate: type) -> set[type]:
    return {
        member
        for _, member in inspect.getmembers(aggregate, inspect.isclass)
        if issubclass(member, CanMutateAggregate)
        and member.__qualname__.startswith(aggregate.__name__ + ".")
        and member.__name__ not in {"Event", "Created", "Snapshot"}
    }


@pytest.mark.parametrize("aggregate", [Account, Transfer])
def test_every_ledger_event_class_has_a_public_name(aggregate: type) -> None:
    missing = {c.__qualname__ for c in event_classes(aggregate)} - {
        c.__qualname__ for c in LEDGER_EVENTS.classes
    }
    assert not missing


def test_the_ledger_publishes_at_least_the_names_api_md_promises() -> None:
    assert LEDGER_EVENTS.names >= API_MD_LEDGER_NAMES


def test_a_stored_event_becomes_the_api_md_envelope(ledger: LedgerApplication) -> None:
    with correlation_scope("corr-1", causation_id="req-1"):
        account = ledger.open_account("alice", "EUR")
        ledger.deposit(account.id, 1250, "dep-1")
    (notification,) = [  # the customer's leg of the deposit (the cash account has the other)
        n for n in ledger.notifications_after(0, 10) if n.originator_id == account.id
    ][-1:]
    message = envelope(
        ledger.decode(notification), catalogue=LEDGER_EVENTS, position=notification.id
    )
    assert message == {
        "id": str(event_id(account.id, 2)),
        "type": "account.credited",
        "source": "ledger",
        "aggregate_id": str(account.id),
        "aggregate_version": 2,
        "position": notification.id,
        "timestamp": message["timestamp"],
        "correlation_id": "corr-1",
        "causation_id": "req-1",
        "data": {
            "amount": "12.50",
            "kind": "deposit",
            "reference": "dep-1",
            "counterparty": str(ledger.cash_account("EUR").id),
            "balance": "12.50",
        },
    }
    assert message["timestamp"].endswith("Z")


def test_events_stored_outside_any_scope_still_get_a_correlation_id(
    ledger: LedgerApplication,
) -> None:
    ledger.open_account("alice", "EUR")
    event = ledger.decode(ledger.notifications_after(0, 1)[0])
    assert UUID(envelope(event, catalogue=LEDGER_EVENTS, position=1)["correlation_id"])


def test_event_ids_are_stable_and_distinct_per_version() -> None:
    aggregate = uuid4()
    assert event_id(aggregate, 1) == event_id(aggregate, 1) != event_id(aggregate, 2)


def test_an_event_outside_the_catalogue_is_named_as_such(ledger: LedgerApplication) -> None:
    with pytest.raises(UnknownEventError, match="not in the ledger event catalogue"):
        LEDGER_EVENTS.type_of(object())
