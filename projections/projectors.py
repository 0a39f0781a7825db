"""Projectors: each turns a batch of published events into writes on its read model.

A projector is a subscriber handler (``messaging.subscriber.Handler``): the runtime calls
``apply`` inside the transaction that also records how far it got, so a batch is applied
exactly once. Each projector reads the rows a batch touches in one query, folds the events into
them in memory, and writes them back in bulk: two round trips a batch, not two an event.

A projector writes to ``self.rows``: its read model, or the shadow copy a rebuild fills
(``projections.rebuild``). Every row records the aggregate version it reflects and an event at
or below that version changes nothing, so any history may be applied over any rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from django.db import models

from kernel.money import cents_from_text
from messaging.subscriber import Delivery
from projections.models import (
    AccountSummary,
    AlertSummary,
    LedgerEntry,
    OrderSummary,
    ProductStock,
    TransferSummary,
)

PROJECTION_PREFIX = "projection:"


class Projector(ABC):
    """A subscriber handler that maintains one read model."""

    name: ClassVar[str]  # "projection:<name>": its subscriber position and dead letters
    event_types: ClassVar[tuple[str, ...]]
    model: ClassVar[type[models.Model]]  # the read model

    def __init__(self, rows: type[models.Model] | None = None) -> None:
        self.rows: Any = rows or self.model  # Any: shadow models share the model's fields

    @abstractmethod
    def apply(self, deliveries: Sequence[Delivery]) -> None:
        """Write the batch's effect on the read model (inside the runtime's transaction)."""


class AccountSummaryProjector(Projector):
    """``accounts``: each account's owner, currency, balance and status."""

    name = PROJECTION_PREFIX + "accounts"
    event_types = ("account.>",)
    model = AccountSummary

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        ids = {UUID(d.event["aggregate_id"]) for d in deliveries}
        rows = self.rows.objects.in_bulk(ids)
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
        self.rows.objects.bulk_create(created.values())
        self.rows.objects.bulk_update(
            [rows[i] for i in changed], ["balance", "status", "version", "updated_at"]
        )

    def opened(self, account_id: UUID, event: dict[str, Any]) -> AccountSummary:
        at = datetime.fromisoformat(event["timestamp"])
        return self.rows(
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
    model = LedgerEntry

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        self.rows.objects.bulk_create(
            (self.entry(d.event) for d in deliveries), ignore_conflicts=True, batch_size=1000
        )

    def entry(self, event: dict[str, Any]) -> LedgerEntry:
        data = event["data"]
        moves_a_transfer = data["kind"] in ("transfer", "refund")
        return self.rows(
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


class TransferSummaryProjector(Projector):
    """``transfers``: each transfer saga's state and its steps, as ``GET /api/transfers/`` lists."""

    name = PROJECTION_PREFIX + "transfers"
    event_types = ("transfer.>",)
    model = TransferSummary

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        ids = {UUID(d.event["aggregate_id"]) for d in deliveries}
        rows = self.rows.objects.in_bulk(ids)
        created: dict[UUID, TransferSummary] = {}
        changed: set[UUID] = set()
        for delivery in deliveries:
            event = delivery.event
            transfer_id = UUID(event["aggregate_id"])
            row = rows.get(transfer_id) or created.get(transfer_id)
            if row is None:
                if event["type"] == "transfer.started":
                    created[transfer_id] = self.started(transfer_id, event)
                continue  # else: a transfer whose start this projection never saw
            if event["aggregate_version"] <= row.version:
                continue
            self.fold(row, event)
            if transfer_id not in created:
                changed.add(transfer_id)
        self.rows.objects.bulk_create(created.values())
        self.rows.objects.bulk_update(
            [rows[i] for i in changed],
            ["status", "steps", "failure_code", "failure_reason", "version", "updated_at"],
        )

    def started(self, transfer_id: UUID, event: dict[str, Any]) -> TransferSummary:
        data, at = event["data"], datetime.fromisoformat(event["timestamp"])
        return self.rows(
            id=transfer_id,
            from_account=UUID(data["from_account"]),
            to_account=UUID(data["to_account"]),
            amount=cents_from_text(data["amount"]),
            currency=data["currency"],
            reference=data["reference"],
            status="running",
            steps=[],
            version=event["aggregate_version"],
            started_at=at,
            updated_at=at,
        )

    # The saga's own vocabulary (``sagas.engine``): a step's outcome, then the saga's.
    STEP_STATUS: ClassVar[dict[str, str]] = {
        "transfer.step_succeeded": "succeeded",
        "transfer.step_failed": "failed",
        "transfer.step_compensated": "compensated",
    }
    SAGA_STATUS: ClassVar[dict[str, str]] = {
        "transfer.completed": "completed",
        "transfer.compensated": "compensated",
        "transfer.failed": "failed",
    }

    def fold(self, row: TransferSummary, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        if kind in self.STEP_STATUS:
            step_status = self.STEP_STATUS[kind]
            row.steps = [
                *row.steps,
                {"name": data["step"], "status": step_status, "at": event["timestamp"]},
            ]
            if step_status == "failed":
                row.status = "compensating"
                row.failure_code, row.failure_reason = data["code"], data["reason"]
        elif kind in self.SAGA_STATUS:
            row.status = self.SAGA_STATUS[kind]
        row.version = event["aggregate_version"]
        row.updated_at = datetime.fromisoformat(event["timestamp"])


class OrderSummaryProjector(Projector):
    """``orders``: each order's owner, account, items, total and current status."""

    name = PROJECTION_PREFIX + "orders"
    event_types = ("order.>",)
    model = OrderSummary
    statuses: ClassVar[dict[str, str]] = {
        "order.confirmed": "confirmed",
        "order.cancellation_requested": "cancelling",
        "order.cancelled": "cancelled",
        "order.shipped": "shipped",
    }

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        ids = {UUID(d.event["aggregate_id"]) for d in deliveries}
        rows = self.rows.objects.in_bulk(ids)
        created: dict[UUID, OrderSummary] = {}
        changed: set[UUID] = set()
        for delivery in deliveries:
            event = delivery.event
            order_id = UUID(event["aggregate_id"])
            row = rows.get(order_id) or created.get(order_id)
            if row is None:
                if event["type"] == "order.created":
                    created[order_id] = self.created(order_id, event)
                continue
            if event["aggregate_version"] <= row.version:
                continue  # already reflected: a replay
            row.status = self.statuses.get(event["type"], row.status)
            row.version = event["aggregate_version"]
            row.updated_at = datetime.fromisoformat(event["timestamp"])
            if order_id not in created:
                changed.add(order_id)
        self.rows.objects.bulk_create(created.values())
        self.rows.objects.bulk_update(
            [rows[i] for i in changed], ["status", "version", "updated_at"]
        )

    def created(self, order_id: UUID, event: dict[str, Any]) -> OrderSummary:
        data, at = event["data"], datetime.fromisoformat(event["timestamp"])
        return self.rows(
            id=order_id,
            owner=data["customer"],
            account=UUID(data["account"]),
            status="pending",
            total=cents_from_text(data["total"]),
            currency=data["currency"],
            items=[{**item, "price": cents_from_text(item["price"])} for item in data["items"]],
            version=event["aggregate_version"],
            created_at=at,
            updated_at=at,
        )


class ProductStockProjector(Projector):
    """``products``: each product's price and stock — on hand, held for orders, available."""

    name = PROJECTION_PREFIX + "products"
    event_types = ("product.>", "inventory.>")
    model = ProductStock

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        ids = {UUID(d.event["aggregate_id"]) for d in deliveries}
        rows = self.rows.objects.in_bulk(ids)
        created: dict[UUID, ProductStock] = {}
        changed: set[UUID] = set()
        for delivery in deliveries:
            event = delivery.event
            product_id = UUID(event["aggregate_id"])
            row = rows.get(product_id) or created.get(product_id)
            if row is None:
                if event["type"] == "product.created":
                    created[product_id] = self.created(product_id, event)
                continue
            if event["aggregate_version"] <= row.version:
                continue
            self.fold(row, event)
            if product_id not in created:
                changed.add(product_id)
        self.rows.objects.bulk_create(created.values())
        self.rows.objects.bulk_update(
            [rows[i] for i in changed],
            ["on_hand", "reserved", "available", "version", "updated_at"],
        )

    def created(self, product_id: UUID, event: dict[str, Any]) -> ProductStock:
        data = event["data"]
        return self.rows(
            id=product_id,
            sku=data["sku"],
            name=data["name"],
            price=cents_from_text(data["price"]),
            on_hand=data["stock"],
            reserved=0,
            available=data["stock"],
            version=event["aggregate_version"],
            updated_at=datetime.fromisoformat(event["timestamp"]),
        )

    @staticmethod
    def fold(row: ProductStock, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        if kind == "product.stock_added":
            row.on_hand = data["on_hand"]
        elif kind == "inventory.reserved":
            row.reserved += data["quantity"]
        elif kind == "inventory.released":
            row.reserved -= data["quantity"]
        elif kind == "inventory.committed":
            row.reserved -= data["quantity"]
            row.on_hand = data["on_hand"]
        row.available = row.on_hand - row.reserved
        row.version = event["aggregate_version"]
        row.updated_at = datetime.fromisoformat(event["timestamp"])


class AlertProjector(Projector):
    """``alerts``: each compliance alert, open or as its reviewer resolved it."""

    name = PROJECTION_PREFIX + "alerts"
    event_types = ("compliance.alert.>",)
    model = AlertSummary

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        rows = self.rows.objects.in_bulk({UUID(d.event["aggregate_id"]) for d in deliveries})
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
        self.rows.objects.bulk_create(created.values())
        self.rows.objects.bulk_update(
            [rows[i] for i in changed], ["status", "resolved_at", "resolved_by", "note", "version"]
        )

    def raised(self, alert_id: UUID, event: dict[str, Any]) -> AlertSummary:
        data = event["data"]
        return self.rows(
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
    "transfers": TransferSummaryProjector,
    "orders": OrderSummaryProjector,
    "products": ProductStockProjector,
    "alerts": AlertProjector,
}
