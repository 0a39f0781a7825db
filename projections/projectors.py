"""Projectors: each turns a batch of published events into writes on its read model.

A projector is a subscriber handler (``messaging.subscriber.Handler``): the runtime calls
``apply`` inside the transaction that also records how far it got, so a batch is applied
exactly once. Each projector reads the rows a batch touches in one query, folds the events into
them in memory, and writes them back in bulk: two round trips a batch, not two an event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from kernel.money import cents_from_text
from messaging.subscriber import Delivery
from projections.models import AccountSummary, AlertSummary, LedgerEntry

PROJECTION_PREFIX = "projection:"


class Projector(ABC):
    """A subscriber handler that maintains one read model."""

    name: ClassVar[str]  # "projection:<name>": its subscriber position and dead letters
    event_types: ClassVar[tuple[str, ...]]

    @abstractmethod
    def apply(self, deliveries: Sequence[Delivery]) -> None:
        """Write the batch's effect on the read model (inside the runtime's transaction)."""


class AccountSummaryProjector(Projector):
    """``accounts``: each account's owner, currency, balance and status."""

    name = PROJECTION_PREFIX + "accounts"
    event_types = ("account.>",)

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        ids = {UUID(d.event["aggregate_id"]) for d in deliveries}
        rows = AccountSummary.objects.in_bulk(ids)
        created: dict[UUID, AccountSummary] = {}
        changed: set[UUID] = set()
        for delivery in deliveries:
            event = delivery.event
            account_id = UUID(event["aggregate_id"])
            row = rows.get(account_id) or created.get(account_id)
            if row is None:
                if event["type"] != "account.opened":
                    continue  # an account whose opening this projection never saw
                created[account_id] = self.opened(account_id, event)
                continue
            if event["aggregate_version"] <= row.version:
                continue  # already reflected: a replay
            self.fold(row, event)
            if account_id not in created:
                changed.add(account_id)
        AccountSummary.objects.bulk_create(created.values())
        AccountSummary.objects.bulk_update(
            [rows[i] for i in changed], ["balance", "status", "version", "updated_at"]
        )

    @staticmethod
    def opened(account_id: UUID, event: dict[str, Any]) -> AccountSummary:
        at = datetime.fromisoformat(event["timestamp"])
        return AccountSummary(
            id=account_id,
            owner=event["data"]["owner"],
            currency=event["data"]["currency"],
            balance=0,
            status="open",
            version=event["aggregate_version"],
            opened_at=at,
            updated_at=at,
        )

    @staticmethod
    def fold(row: AccountSummary, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind in ("account.credited", "account.debited"):
            row.balance = cents_from_text(event["data"]["balance"])
        elif kind == "account.frozen":
            row.status = "frozen"
        elif kind == "account.unfrozen":
            row.status = "open"
        elif kind == "account.closed":
            row.status = "closed"
        row.version = event["aggregate_version"]
        row.updated_at = datetime.fromisoformat(event["timestamp"])


class LedgerEntryProjector(Projector):
    """``transactions``: one row per credit or debit, with the balance it left.

    An entry is identified by its account and version, so a replayed event inserts nothing:
    the whole batch is one INSERT ... ON CONFLICT DO NOTHING.
    """

    name = PROJECTION_PREFIX + "transactions"
    event_types = ("account.credited", "account.debited")

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        LedgerEntry.objects.bulk_create(
            (self.entry(d.event) for d in deliveries), ignore_conflicts=True, batch_size=1000
        )

    @staticmethod
    def entry(event: dict[str, Any]) -> LedgerEntry:
        data = event["data"]
        moves_a_transfer = data["kind"] in ("transfer", "refund")
        return LedgerEntry(
            account_id=UUID(event["aggregate_id"]),
            version=event["aggregate_version"],
            direction="credit" if event["type"] == "account.credited" else "debit",
            kind=data["kind"],
            amount=cents_from_text(data["amount"]),
            balance_after=cents_from_text(data["balance"]),
            counterparty=UUID(data["counterparty"]) if data["counterparty"] else None,
            transfer_id=UUID(data["reference"]) if moves_a_transfer else None,
            reference=data["reference"][:64],
            at=datetime.fromisoformat(event["timestamp"]),
        )


class AlertProjector(Projector):
    """``alerts``: each compliance alert, open or as its reviewer resolved it."""

    name = PROJECTION_PREFIX + "alerts"
    event_types = ("compliance.alert.>",)

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        rows = AlertSummary.objects.in_bulk({UUID(d.event["aggregate_id"]) for d in deliveries})
        created: dict[UUID, AlertSummary] = {}
        changed: set[UUID] = set()
        for delivery in deliveries:
            event = delivery.event
            alert_id = UUID(event["aggregate_id"])
            row = rows.get(alert_id) or created.get(alert_id)
            if row is None:
                if event["type"] == "compliance.alert.raised":
                    created[alert_id] = self.raised(alert_id, event)
                continue  # a resolution before its alert: this projection never saw it raised
            if event["aggregate_version"] <= row.version:
                continue  # already reflected: a replay
            if event["type"] == "compliance.alert.resolved":
                self.resolved(row, event)
                if alert_id not in created:
                    changed.add(alert_id)
        AlertSummary.objects.bulk_create(created.values())
        AlertSummary.objects.bulk_update(
            [rows[i] for i in changed], ["status", "resolved_at", "resolved_by", "note", "version"]
        )

    @staticmethod
    def raised(alert_id: UUID, event: dict[str, Any]) -> AlertSummary:
        data = event["data"]
        return AlertSummary(
            id=alert_id,
            transfer_id=UUID(data["transfer_id"]),
            account=UUID(data["account"]),
            amount=cents_from_text(data["amount"]),
            rule=data["rule"],
            reason=data["reason"],
            status="open",
            raised_at=datetime.fromisoformat(event["timestamp"]),
            version=event["aggregate_version"],
        )

    @staticmethod
    def resolved(row: AlertSummary, event: dict[str, Any]) -> None:
        data = event["data"]
        row.status = data["decision"]
        row.resolved_by = data["resolved_by"]
        row.note = data["note"]
        row.resolved_at = datetime.fromisoformat(event["timestamp"])
        row.version = event["aggregate_version"]


PROJECTORS: dict[str, type[Projector]] = {
    "accounts": AccountSummaryProjector,
    "transactions": LedgerEntryProjector,
    "alerts": AlertProjector,
}
