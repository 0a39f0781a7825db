"""Reads over the projections: what the list endpoints show, and how far each has caught up."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from messaging.models import SubscriberPosition
from projections.models import AccountSummary, AlertSummary, LedgerEntry
from projections.projectors import PROJECTORS

ACCOUNT_ORDERINGS = {"opened_at", "-opened_at", "balance", "-balance", "updated_at", "-updated_at"}


def account_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[AccountSummary]:
    """Accounts a user may see (a customer: its own; staff: all), filtered and ordered."""
    accounts = AccountSummary.objects.all()
    if not user.is_staff:
        accounts = accounts.filter(owner=user.get_username())
    elif filters.get("owner"):
        accounts = accounts.filter(owner=filters["owner"])
    if filters.get("status"):
        accounts = accounts.filter(status=filters["status"])
    if filters.get("currency"):
        accounts = accounts.filter(currency=filters["currency"])
    return accounts.order_by(filters.get("ordering") or "opened_at", "id")


def entry_list(*, account_id: UUID, filters: dict[str, Any]) -> QuerySet[LedgerEntry]:
    """One account's entries, newest first, optionally by kind and within a time range."""
    entries = LedgerEntry.objects.filter(account_id=account_id)
    if filters.get("kind"):
        entries = entries.filter(kind=filters["kind"])
    if filters.get("since"):
        entries = entries.filter(at__gte=filters["since"])
    if filters.get("until"):
        entries = entries.filter(at__lt=filters["until"])
    return entries.order_by("-at", "-version")


def alert_list(*, filters: dict[str, Any]) -> QuerySet[AlertSummary]:
    """Compliance alerts, newest first, by status, rule, account or transfer."""
    alerts = AlertSummary.objects.all()
    for name in ("status", "rule", "account", "transfer_id"):
        if filters.get(name):
            alerts = alerts.filter(**{name: filters[name]})
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
