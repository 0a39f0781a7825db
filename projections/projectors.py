"""Projectors: each turns a batch of published events into writes on its read model.

A projector is a subscriber handler (``messaging.subscriber.Handler``): the runtime calls
``apply`` inside the transaction that also records how far it got, so a batch is applied
exactly once. Each projector reads the rows a batch touches in one query, folds the events into
them in memory, and writes them back in bulk: two round trips a batch, not two an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from kernel.money import cents_from_text
from messaging.subscriber import Delivery
from projections.models import AccountSummary

PROJECTION_PREFIX = "projection:"


class AccountSummaryProjector:
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


PROJECTORS = {"accounts": AccountSummaryProjector}
