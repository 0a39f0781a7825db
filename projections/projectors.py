"""Projectors: each turns a batch of published events into writes on its read model.

A projector is a subscriber handler (``messaging.subscriber.Handler``): the runtime calls
``apply`` inside the transaction that also records how far it got, so a batch is applied
exactly once. Each projector reads the rows a batch touches in one query, folds the events into
them in memory, and writes them back in bulk: a few round trips a batch, none per event.

A projector writes to ``self.rows``: its read model, or the shadow copy a rebuild fills
(``projections.rebuild``). Every row records the aggregate version it reflects and an event at
or below that version changes nothing, so any history may be applied over any rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, cast
from uuid import UUID

from django.conf import settings
from django.db import models
from django.db.models.fields import AutoFieldMixin
from django.utils.module_loading import import_string

from kernel.money import cents_from_text
from messaging.subscriber import Delivery
from projections.models import (
    AccountSummary,
    AlertSummary,
    LedgerEntry,
    OrderSummary,
    ProductStock,
    ProfileSummary,
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


class AggregateRowProjector(Projector):
    """A read model with one row per aggregate, keyed by the aggregate's id.

    The rows a batch touches are read in one query; each event is folded into its row in
    memory; the rows are written back with one bulk insert and one bulk update. A row is made
    by the aggregate's first event (``creates``); an event at or below the version a row
    records is one it reflects already (a replay) and changes nothing, and events of an
    aggregate whose first event this projection never saw are skipped.
    """

    creates: ClassVar[str]  # the event type that makes a row
    update_fields: ClassVar[tuple[str, ...]]  # what ``fold`` may change ("version" besides)

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        rows = self.rows.objects.in_bulk({UUID(d.event["aggregate_id"]) for d in deliveries})
        created: dict[UUID, Any] = {}
        changed: set[UUID] = set()
        for delivery in deliveries:
            event = delivery.event
            key = UUID(event["aggregate_id"])
            row = rows.get(key) or created.get(key)
            if row is None:
                if event["type"] == self.creates:
                    created[key] = self.create(key, event)
                continue
            if event["aggregate_version"] <= row.version:
                continue
            self.fold(row, event)
            row.version = event["aggregate_version"]
            if key not in created:
                changed.add(key)
        self.rows.objects.bulk_create(created.values())
        self.rows.objects.bulk_update(
            [rows[key] for key in changed], [*self.update_fields, "version"]
        )

    @abstractmethod
    def create(self, key: UUID, event: dict[str, Any]) -> models.Model:
        """The row the aggregate's first event makes (unsaved, from ``self.rows``)."""

    @abstractmethod
    def fold(self, row: Any, event: dict[str, Any]) -> None:
        """Apply a later event to its row in memory."""


def moment(event: dict[str, Any]) -> datetime:
    """When the event happened (its envelope's timestamp)."""
    return datetime.fromisoformat(event["timestamp"])


class AccountSummaryProjector(AggregateRowProjector):
    """``accounts``: each account's owner, currency, balance and status."""

    name = PROJECTION_PREFIX + "accounts"
    event_types = ("account.>",)
    model = AccountSummary
    creates = "account.opened"
    update_fields = ("balance", "held", "incoming", "status", "updated_at")
    STATUS: ClassVar[dict[str, str]] = {
        "account.frozen": "frozen",
        "account.unfrozen": "open",
        "account.closed": "closed",
    }

    def create(self, key: UUID, event: dict[str, Any]) -> AccountSummary:
        data = event["data"]
        return self.rows(
            id=key,
            owner=data["owner"],
            currency=data["currency"],
            balance=0,
            status="open",
            version=event["aggregate_version"],
            opened_at=moment(event),
            updated_at=moment(event),
        )

    def fold(self, row: AccountSummary, event: dict[str, Any]) -> None:
        data = event["data"]
        if "balance" in data:  # a movement, posted or held
            row.balance = cents_from_text(data["balance"])
        if "held" in data:
            row.held = cents_from_text(data["held"])
        if "incoming" in data:
            row.incoming = cents_from_text(data["incoming"])
        row.status = self.STATUS.get(event["type"], row.status)
        row.updated_at = moment(event)


class LedgerEntryProjector(Projector):
    """``transactions``: one row per credit or debit, with the balance it left; and one per
    hold's money set aside on an account (``pending``) and set free (``released``), kind
    ``hold``, its reference the hold's id. A captured hold's part is then a posted entry.

    An entry is identified by its account and version, so a replayed event inserts nothing:
    the whole batch is one INSERT ... ON CONFLICT DO NOTHING (``insert_new``).
    """

    name = PROJECTION_PREFIX + "transactions"
    event_types = (
        "account.credited",
        "account.debited",
        "account.debit_held",
        "account.credit_held",
        "account.hold_released",
    )
    model = LedgerEntry
    DIRECTION: ClassVar[dict[str, str]] = {
        "account.credited": "credit",
        "account.debited": "debit",
        "account.debit_held": "debit",
        "account.credit_held": "credit",
    }

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        insert_new(self.rows, [self.entry(d.event) for d in deliveries])

    def entry(self, event: dict[str, Any]) -> dict[str, Any]:
        data = event["data"]
        if "kind" in data:  # posted
            kind, reference, phase = data["kind"], data["reference"], LedgerEntry.Phase.POSTED
            direction = self.DIRECTION[event["type"]]
        else:  # held, or released
            kind, reference = "hold", data["hold_id"]
            released = event["type"] == "account.hold_released"
            phase = LedgerEntry.Phase.RELEASED if released else LedgerEntry.Phase.PENDING
            direction = data["direction"] if released else self.DIRECTION[event["type"]]
        moves_a_transfer = kind in ("transfer", "refund")
        counterparty = data.get("counterparty")
        return {
            "account_id": UUID(event["aggregate_id"]),
            "version": event["aggregate_version"],
            "direction": direction,
            "kind": kind,
            "phase": phase.value,
            "amount": cents_from_text(data["amount"]),
            "balance_after": cents_from_text(data["balance"]),
            "counterparty": UUID(counterparty) if counterparty else None,
            "transfer_id": UUID(reference) if moves_a_transfer else None,
            "reference": reference[:64],
            "at": moment(event),
        }


def insert_new(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (field name to value, each value as the database takes it: ints,
    strings, UUIDs, aware datetimes), skipping each that a unique constraint says exists.

    ``settings.EVENTBANK_INSERT_NEW`` names the function that does it: ``insert_with_orm`` here,
    or the tuning package's COPY loader."""
    if rows:
        _inserter(settings.EVENTBANK_INSERT_NEW)(model, rows)


def insert_with_orm(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    model._default_manager.bulk_create(
        (model(**row) for row in rows), ignore_conflicts=True, batch_size=1000
    )


@cache
def _inserter(name: str) -> Callable[[type[models.Model], Sequence[dict[str, Any]]], None]:
    return cast(Callable[[type[models.Model], Sequence[dict[str, Any]]], None], import_string(name))


def written_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The columns a row is written with: all but a serial key, which the table's own
    sequence gives (a copied one would put the sequence behind the rows)."""
    return [f for f in model._meta.local_concrete_fields if not isinstance(f, AutoFieldMixin)]


class TransferSummaryProjector(AggregateRowProjector):
    """``transfers``: each transfer saga's state and its steps, as ``GET /api/transfers/`` lists."""

    name = PROJECTION_PREFIX + "transfers"
    event_types = ("transfer.>",)
    model = TransferSummary
    creates = "transfer.started"
    update_fields = ("status", "steps", "failure_code", "failure_reason", "updated_at")
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

    def create(self, key: UUID, event: dict[str, Any]) -> TransferSummary:
        data = event["data"]
        return self.rows(
            id=key,
            from_account=UUID(data["from_account"]),
            to_account=UUID(data["to_account"]),
            amount=cents_from_text(data["amount"]),
            currency=data["currency"],
            reference=data["reference"],
            status="running",
            steps=[],
            version=event["aggregate_version"],
            started_at=moment(event),
            updated_at=moment(event),
        )

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
        row.status = self.SAGA_STATUS.get(kind, row.status)
        row.updated_at = moment(event)


class OrderSummaryProjector(AggregateRowProjector):
    """``orders``: each order's owner, account, items, total and current status."""

    name = PROJECTION_PREFIX + "orders"
    event_types = ("order.>",)
    model = OrderSummary
    creates = "order.created"
    update_fields = ("status", "updated_at")
    STATUS: ClassVar[dict[str, str]] = {
        "order.confirmed": "confirmed",
        "order.cancellation_requested": "cancelling",
        "order.cancelled": "cancelled",
        "order.shipment_requested": "shipping",
        "order.shipped": "shipped",
    }

    def create(self, key: UUID, event: dict[str, Any]) -> OrderSummary:
        data = event["data"]
        return self.rows(
            id=key,
            owner=data["customer"],
            account=UUID(data["account"]),
            status="pending",
            total=cents_from_text(data["total"]),
            currency=data["currency"],
            items=[{**item, "price": cents_from_text(item["price"])} for item in data["items"]],
            version=event["aggregate_version"],
            created_at=moment(event),
            updated_at=moment(event),
        )

    def fold(self, row: OrderSummary, event: dict[str, Any]) -> None:
        row.status = self.STATUS.get(event["type"], row.status)
        row.updated_at = moment(event)


class ProductStockProjector(AggregateRowProjector):
    """``products``: each product's price and stock — on hand, held for orders, available."""

    name = PROJECTION_PREFIX + "products"
    event_types = ("product.>", "inventory.>")
    model = ProductStock
    creates = "product.created"
    update_fields = ("on_hand", "reserved", "available", "updated_at")

    def create(self, key: UUID, event: dict[str, Any]) -> ProductStock:
        data = event["data"]
        return self.rows(
            id=key,
            sku=data["sku"],
            name=data["name"],
            price=cents_from_text(data["price"]),
            on_hand=data["stock"],
            reserved=0,
            available=data["stock"],
            version=event["aggregate_version"],
            updated_at=moment(event),
        )

    def fold(self, row: ProductStock, event: dict[str, Any]) -> None:
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
        row.updated_at = moment(event)


class AlertProjector(AggregateRowProjector):
    """``alerts``: each compliance alert, open or as its reviewer resolved it."""

    name = PROJECTION_PREFIX + "alerts"
    event_types = ("compliance.alert.>",)
    model = AlertSummary
    creates = "compliance.alert.raised"
    update_fields = ("status", "resolved_at", "resolved_by", "note")

    def create(self, key: UUID, event: dict[str, Any]) -> AlertSummary:
        data = event["data"]
        return self.rows(
            id=key,
            transfer_id=UUID(data["transfer_id"]),
            account=UUID(data["account"]),
            amount=cents_from_text(data["amount"]),
            rule=data["rule"],
            reason=data["reason"],
            status="open",
            raised_at=moment(event),
            version=event["aggregate_version"],
        )

    def fold(self, row: AlertSummary, event: dict[str, Any]) -> None:
        if event["type"] == "compliance.alert.resolved":
            data = event["data"]
            row.status = data["decision"]
            row.resolved_by = data["resolved_by"]
            row.note = data["note"]
            row.resolved_at = moment(event)


class ProfileProjector(AggregateRowProjector):
    """``profiles``: each customer's profile, its personal fields as sealed as they were
    published, until ``customer.forgotten`` empties them."""

    name = PROJECTION_PREFIX + "profiles"
    event_types = ("customer.>",)
    model = ProfileSummary
    creates = "customer.profile_created"
    SEALED: ClassVar[tuple[str, ...]] = ("key_id", "full_name", "email", "address", "phone")
    update_fields = (*SEALED, "forgotten_at", "updated_at")

    def create(self, key: UUID, event: dict[str, Any]) -> ProfileSummary:
        return self.rows(
            id=key,
            customer=event["data"]["customer"],
            version=event["aggregate_version"],
            created_at=moment(event),
            updated_at=moment(event),
        )

    def fold(self, row: ProfileSummary, event: dict[str, Any]) -> None:
        if event["type"] == "customer.profile_updated":
            for field in self.SEALED:
                setattr(row, field, event["data"][field])
        elif event["type"] == "customer.forgotten":
            for field in self.SEALED:
                setattr(row, field, None)
            row.forgotten_at = moment(event)
        row.updated_at = moment(event)


PROJECTORS: dict[str, type[Projector]] = {
    "accounts": AccountSummaryProjector,
    "transactions": LedgerEntryProjector,
    "transfers": TransferSummaryProjector,
    "orders": OrderSummaryProjector,
    "products": ProductStockProjector,
    "alerts": AlertProjector,
    "profiles": ProfileProjector,
}
