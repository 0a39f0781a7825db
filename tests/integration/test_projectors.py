"""Each projector, event by event: what it writes, and that an event at or below a row's
version (a replay, a redelivery) changes nothing. Envelopes are built by hand, as a subscriber
receives them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.db import DataError, connection, transaction

from messaging.subscriber import Delivery
from projections.models import AccountSummary, LedgerEntry, TransferSummary
from projections.projectors import (
    AccountSummaryProjector,
    LedgerEntryProjector,
    TransferSummaryProjector,
    insert_new,
)

pytestmark = pytest.mark.django_db


def delivery(event_type: str, aggregate_id: UUID, version: int, /, **data: Any) -> Delivery:
    event = {
        "id": str(uuid4()),
        "type": event_type,
        "source": "ledger",
        "aggregate_id": str(aggregate_id),
        "aggregate_version": version,
        "position": version,
        "timestamp": f"2026-11-24T10:00:{version:02d}+00:00",
        "correlation_id": None,
        "causation_id": None,
        "data": data,
    }
    return Delivery(sequence=version, subject=f"eventbank.{event_type}", event=event)


# --- accounts ---------------------------------------------------------------------------------


def credited(account: UUID, version: int, amount: str, balance: str, **extra: Any) -> Delivery:
    data = {"kind": "deposit", "reference": f"d{version}", "counterparty": None, **extra}
    return delivery("account.credited", account, version, amount=amount, balance=balance, **data)


def test_accounts_opened_credited_debited_frozen_unfrozen_closed() -> None:
    projector, account = AccountSummaryProjector(), uuid4()
    projector.apply([delivery("account.opened", account, 1, owner="alice", currency="EUR")])
    row = AccountSummary.objects.get(id=account)
    assert (row.owner, row.currency, row.balance, row.status, row.version) == (
        "alice", "EUR", 0, "open", 1,
    )  # fmt: skip
    debited = delivery("account.debited", account, 3, amount="2.50", balance="7.50",
                       kind="withdrawal", reference="w", counterparty=None)  # fmt: skip
    steps: list[tuple[Delivery, int, str]] = [
        (credited(account, 2, "10.00", "10.00"), 1000, "open"),
        (debited, 750, "open"),
        (delivery("account.frozen", account, 4, reason="check"), 750, "frozen"),
        (delivery("account.unfrozen", account, 5), 750, "open"),
        (delivery("account.closed", account, 6), 750, "closed"),
    ]
    for event, balance, status in steps:
        projector.apply([event])
        row.refresh_from_db()
        assert (row.balance, row.status, row.version) == (
            balance, status, event.event["aggregate_version"],
        )  # fmt: skip


def test_accounts_ignore_replays_and_events_of_accounts_never_opened() -> None:
    projector, account = AccountSummaryProjector(), uuid4()
    opened = delivery("account.opened", account, 1, owner="alice", currency="EUR")
    projector.apply([opened, credited(account, 2, "5.00", "5.00")])
    projector.apply([opened, credited(account, 2, "5.00", "5.00")])  # the same batch again
    projector.apply([credited(account, 2, "9.00", "9.00")])  # a stale, different version 2
    assert AccountSummary.objects.get(id=account).balance == 500
    projector.apply([credited(uuid4(), 2, "1.00", "1.00")])
    assert AccountSummary.objects.count() == 1


# --- transactions -----------------------------------------------------------------------------


def test_transactions_one_row_per_entry_with_transfer_and_counterparty() -> None:
    projector, account, other, transfer = LedgerEntryProjector(), uuid4(), uuid4(), uuid4()
    projector.apply(
        [
            credited(account, 2, "10.00", "10.00"),
            delivery("account.debited", account, 3, amount="4.00", balance="6.00",
                     kind="transfer", reference=str(transfer), counterparty=str(other)),
        ]
    )  # fmt: skip
    debit = LedgerEntry.objects.get(account_id=account, version=3)
    assert (debit.direction, debit.kind, debit.amount, debit.balance_after) == (
        "debit", "transfer", 400, 600,
    )  # fmt: skip
    assert (debit.transfer_id, debit.counterparty) == (transfer, other)
    deposit = LedgerEntry.objects.get(account_id=account, version=2)
    assert (deposit.direction, deposit.transfer_id, deposit.reference) == ("credit", None, "d2")


def test_transactions_replayed_entries_are_not_added_again() -> None:
    projector, account = LedgerEntryProjector(), uuid4()
    batch = [credited(account, 2, "1.00", "1.00"), credited(account, 3, "1.00", "2.00")]
    projector.apply(batch)
    projector.apply(batch)
    assert LedgerEntry.objects.filter(account_id=account).count() == 2


def test_transactions_a_batch_is_written_in_the_callers_transaction() -> None:
    """The subscriber commits a batch together with its position: a batch whose transaction
    rolls back leaves no row behind."""
    projector, account = LedgerEntryProjector(), uuid4()
    written = []

    def apply_then_fail() -> None:
        with transaction.atomic():
            projector.apply([credited(account, 2, "1.00", "1.00")])
            written.append(LedgerEntry.objects.filter(account_id=account).count())
            raise RuntimeError("the position could not be saved")

    with pytest.raises(RuntimeError):
        apply_then_fail()
    assert written == [1]
    assert not LedgerEntry.objects.filter(account_id=account).exists()


def test_transactions_an_entry_keeps_every_field_as_sent() -> None:
    projector, account = LedgerEntryProjector(), uuid4()
    projector.apply([credited(account, 7, "0.05", "1234567.89", reference="r" * 80)])
    entry = LedgerEntry.objects.get(account_id=account)
    assert (entry.version, entry.amount, entry.balance_after, entry.counterparty) == (
        7, 5, 123456789, None,
    )  # fmt: skip
    assert entry.reference == "r" * 64  # the projection keeps the first 64 characters
    assert entry.at == datetime(2026, 11, 24, 10, 0, 7, tzinfo=UTC)


def test_transactions_a_value_too_long_for_its_column_is_refused_not_cut() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a column's length")
    row = LedgerEntryProjector().entry(credited(uuid4(), 2, "1.00", "1.00").event)
    with pytest.raises(DataError), transaction.atomic():
        insert_new(LedgerEntry, [{**row, "kind": "k" * 17}])  # kind is varchar(16)
    assert not LedgerEntry.objects.exists()


def test_transactions_two_loads_in_one_transaction_each_insert_their_own_rows() -> None:
    projector, account = LedgerEntryProjector(), uuid4()
    with transaction.atomic():
        projector.apply([credited(account, 2, "1.00", "1.00")])
        projector.apply([credited(account, 3, "1.00", "2.00")])
    assert sorted(LedgerEntry.objects.values_list("version", flat=True)) == [2, 3]


@pytest.mark.django_db(transaction=True)
def test_transactions_rows_loaded_outside_a_transaction_are_kept() -> None:
    """In autocommit each statement would commit alone, and the staging table empties at every
    commit: the load opens a transaction of its own."""
    projector, account = LedgerEntryProjector(), uuid4()
    assert connection.get_autocommit()
    projector.apply([credited(account, 2, "1.00", "1.00"), credited(account, 3, "1.00", "2.00")])
    assert LedgerEntry.objects.filter(account_id=account).count() == 2


# --- transfers --------------------------------------------------------------------------------


def started(transfer: UUID, source: UUID, destination: UUID) -> Delivery:
    return delivery("transfer.started", transfer, 1, from_account=str(source),
                    to_account=str(destination), amount="12.34", currency="EUR",
                    reference="rent", deadline="2026-11-24T10:01:00Z")  # fmt: skip


def test_transfers_a_completed_transfer_and_its_steps() -> None:
    projector, transfer, a, b = TransferSummaryProjector(), uuid4(), uuid4(), uuid4()
    projector.apply([started(transfer, a, b)])
    row = TransferSummary.objects.get(id=transfer)
    assert (row.from_account, row.to_account, row.amount, row.currency, row.reference) == (
        a, b, 1234, "EUR", "rent",
    )  # fmt: skip
    assert (row.status, row.steps, row.version) == ("running", [], 1)
    projector.apply(
        [
            delivery("transfer.step_succeeded", transfer, 2, step="debit_source"),
            delivery("transfer.step_succeeded", transfer, 3, step="credit_destination"),
            delivery("transfer.completed", transfer, 4, from_account=str(a), to_account=str(b),
                     amount="12.34", currency="EUR", reference="rent"),
        ]
    )  # fmt: skip
    row.refresh_from_db()
    assert row.status == "completed" and row.version == 4
    assert [(s["name"], s["status"]) for s in row.steps] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "succeeded"),
    ]
    assert row.failure_code is None


def test_transfers_a_refused_credit_is_compensated_with_its_reason() -> None:
    projector, transfer = TransferSummaryProjector(), uuid4()
    projector.apply([started(transfer, uuid4(), uuid4())])
    projector.apply(
        [
            delivery("transfer.step_succeeded", transfer, 2, step="debit_source"),
            delivery("transfer.step_failed", transfer, 3, step="credit_destination",
                     code="account_frozen", reason="frozen", undo_step=False),
        ]
    )  # fmt: skip
    row = TransferSummary.objects.get(id=transfer)
    assert (row.status, row.failure_code, row.failure_reason) == (
        "compensating", "account_frozen", "frozen",
    )  # fmt: skip
    projector.apply(
        [
            delivery("transfer.step_compensated", transfer, 4, step="debit_source"),
            delivery("transfer.compensated", transfer, 5),
        ]
    )
    row.refresh_from_db()
    assert row.status == "compensated"
    assert [s["status"] for s in row.steps] == ["succeeded", "failed", "compensated"]


def test_transfers_replays_change_nothing() -> None:
    projector, transfer = TransferSummaryProjector(), uuid4()
    batch = [
        started(transfer, uuid4(), uuid4()),
        delivery("transfer.step_succeeded", transfer, 2, step="debit_source"),
    ]
    projector.apply(batch)
    projector.apply(batch)
    projector.apply([delivery("transfer.step_succeeded", transfer, 2, step="debit_source")])
    assert len(TransferSummary.objects.get(id=transfer).steps) == 1
    projector.apply([delivery("transfer.completed", uuid4(), 4)])  # never saw it start
    assert TransferSummary.objects.count() == 1
