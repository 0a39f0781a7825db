"""Reads over the projections: what the list endpoints show, and how far each has caught up."""

from __future__ import annotations

import time
from typing import Any, TypeVar
from uuid import UUID

from django.db.models import Model, Q, QuerySet

from messaging.models import SubscriberPosition
from projections.models import (
    AccountSummary,
    AlertSummary,
    LedgerEntry,
    OrderSummary,
    ProductStock,
    TransferSummary,
)
from projections.projectors import PROJECTORS

ACCOUNT_ORDERINGS = {"opened_at", "-opened_at", "balance", "-balance", "updated_at", "-updated_at"}
TRANSFER_ORDERINGS = {"started_at", "-started_at", "amount", "-amount", "updated_at", "-updated_at"}
ORDER_ORDERINGS = {"created_at", "-created_at", "total", "-total", "updated_at", "-updated_at"}


M = TypeVar("M", bound=Model)


def matching(rows: QuerySet[M], filters: dict[str, Any], *names: str) -> QuerySet[M]:
    """Rows whose fields equal the filters given among ``names`` (absent filters: no limit)."""
    given = {name: filters[name] for name in names if filters.get(name)}
    return rows.filter(**given) if given else rows


def within(rows: QuerySet[M], field: str, filters: dict[str, Any]) -> QuerySet[M]:
    """Rows whose ``field`` is at or after ``since`` and before ``until``, where given."""
    if filters.get("since"):
        rows = rows.filter(**{f"{field}__gte": filters["since"]})
    if filters.get("until"):
        rows = rows.filter(**{f"{field}__lt": filters["until"]})
    return rows


def account_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[AccountSummary]:
    """Accounts a user may see (a customer: its own; staff: all), filtered and ordered."""
    accounts = AccountSummary.objects.all()
    if not user.is_staff:
        accounts = accounts.filter(owner=user.get_username())
    elif filters.get("owner"):
        accounts = accounts.filter(owner=filters["owner"])
    accounts = matching(accounts, filters, "status", "currency")
    return accounts.order_by(filters.get("ordering") or "opened_at", "id")


def entry_list(*, account_id: UUID, filters: dict[str, Any]) -> QuerySet[LedgerEntry]:
    """One account's entries, newest first, optionally by kind and phase and within a time
    range."""
    entries = LedgerEntry.objects.filter(account_id=account_id)
    entries = within(matching(entries, filters, "kind", "phase"), "at", filters)
    return entries.order_by("-at", "-version")


def transfer_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[TransferSummary]:
    """Transfers a user may see (a customer: to or from its own accounts; staff: all)."""
    transfers = TransferSummary.objects.all()
    if not user.is_staff:
        own = AccountSummary.objects.filter(owner=user.get_username()).values("id")
        transfers = transfers.filter(Q(from_account__in=own) | Q(to_account__in=own))
    if filters.get("account"):
        account = filters["account"]
        transfers = transfers.filter(Q(from_account=account) | Q(to_account=account))
    transfers = within(matching(transfers, filters, "status"), "started_at", filters)
    return transfers.order_by(filters.get("ordering") or "-started_at", "id")


def order_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[OrderSummary]:
    """Orders a user may see (a customer: its own; staff: all), filtered and ordered."""
    orders = OrderSummary.objects.all()
    if not user.is_staff:
        orders = orders.filter(owner=user.get_username())
    elif filters.get("owner"):
        orders = orders.filter(owner=filters["owner"])
    orders = within(matching(orders, filters, "status", "account"), "created_at", filters)
    return orders.order_by(filters.get("ordering") or "-created_at", "id")


def order_get(*, user: Any, order_id: UUID) -> OrderSummary | None:
    """One order as the projection has it, if this user may see it."""
    orders = OrderSummary.objects.filter(id=order_id)
    if not user.is_staff:
        orders = orders.filter(owner=user.get_username())
    return orders.first()


def product_list(*, filters: dict[str, Any]) -> QuerySet[ProductStock]:
    """The catalogue, by SKU; ``in_stock`` keeps only what can be ordered now."""
    products = ProductStock.objects.all()
    if filters.get("in_stock"):
        products = products.filter(available__gt=0)
    return products.order_by("sku")


def alert_list(*, filters: dict[str, Any]) -> QuerySet[AlertSummary]:
    """Compliance alerts, newest first, by status, rule, account or transfer."""
    alerts = matching(
        AlertSummary.objects.all(), filters, "status", "rule", "account", "transfer_id"
    )
    return alerts.order_by("-raised_at", "id")


def caught_up_to(projection: str, source: str) -> int:
    """The highest position of ``source``'s log that ``projection`` has applied."""
    row = SubscriberPosition.objects.filter(name=PROJECTORS[projection].name).first()
    return row.caught_up_to(source) if row else 0


def wait_until_caught_up(
    projection: str, source: str, position: int, *, timeout: float, interval: float = 0.02
) -> bool:
    """Wait (bounded) until the projection has applied ``position`` of ``source``."""
    deadline = time.monotonic() + timeout
    while caught_up_to(projection, source) < position:
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True
