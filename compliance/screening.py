"""The compliance subscriber: screen every completed transfer and every captured hold (money
that moved, either way), raise an alert per finding.

It runs on the messaging runtime (``messaging.subscriber``), which calls ``apply`` inside the
transaction that stores its stream position. Its history (``ScreenedTransfer``) is written in
that transaction; the alerts go to the compliance event store, which commits on its own — the
relay then publishes them as ``compliance.alert.raised``. So a crash can fall between storing
an alert and committing the position. The redelivered transfer is then screened again against
the same history (it was never recorded), finds the same rules, and raises the same alerts:
their ids are the transfer's and the rule's, so they exist already and nothing is stored twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings

from compliance.application import ComplianceApplication
from compliance.models import ScreenedTransfer as ScreenedRow
from compliance.rules import Finding, RuleSettings, ScreenedTransfer, screen
from kernel.money import cents_from_text
from messaging.subscriber import Delivery


def screened(event: dict[str, Any]) -> ScreenedTransfer:
    """A ``transfer.completed`` or ``hold.captured`` envelope as the rules see it: what moved
    from which account (a captured hold moved what was captured, not what was held)."""
    data = event["data"]
    moved = data["captured"] if event["type"] == "hold.captured" else data["amount"]
    return ScreenedTransfer(
        id=UUID(event["aggregate_id"]),
        account=UUID(data["from_account"]),
        amount=cents_from_text(moved),
        at=datetime.fromisoformat(event["timestamp"]),
    )


class TransferScreening:
    """The ``compliance:screening`` subscriber (``run_compliance`` runs it)."""

    name = "compliance:screening"
    event_types = ("transfer.completed", "hold.captured")

    def __init__(
        self, compliance: ComplianceApplication, rules: RuleSettings | None = None
    ) -> None:
        self.compliance = compliance
        self.rules = rules or RuleSettings.from_mapping(settings.COMPLIANCE_RULES)

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        batch = [(d, screened(d.event)) for d in deliveries]
        done = set(
            ScreenedRow.objects.filter(transfer_id__in={t.id for _, t in batch}).values_list(
                "transfer_id", flat=True
            )
        )
        fresh = [(d, t) for d, t in batch if t.id not in done]
        if not fresh:
            return  # a replay: everything here was screened before
        history = self.history(
            {t.account for _, t in fresh}, since=min(t.at for _, t in fresh) - self.rules.lookback
        )
        rows = []
        for delivery, transfer in fresh:
            if transfer.id in done:
                continue  # delivered twice within this batch
            findings = screen(transfer, history[transfer.account], self.rules)
            if findings:
                with delivery.caused():
                    self.raise_alerts(transfer, delivery.event["data"]["currency"], findings)
            history[transfer.account].append(transfer)
            done.add(transfer.id)
            rows.append(
                ScreenedRow(
                    transfer_id=transfer.id,
                    account=transfer.account,
                    amount=transfer.amount,
                    at=transfer.at,
                )
            )
        ScreenedRow.objects.bulk_create(rows)

    @staticmethod
    def history(accounts: Iterable[UUID], since: datetime) -> dict[UUID, list[ScreenedTransfer]]:
        """The accounts' screened transfers from ``since`` on, oldest first (one query)."""
        history: dict[UUID, list[ScreenedTransfer]] = defaultdict(list)
        rows = ScreenedRow.objects.filter(account__in=set(accounts), at__gte=since).order_by("at")
        for row in rows:
            history[row.account].append(
                ScreenedTransfer(
                    id=row.transfer_id, account=row.account, amount=row.amount, at=row.at
                )
            )
        return history

    def raise_alerts(
        self, transfer: ScreenedTransfer, currency: str, findings: list[Finding]
    ) -> None:
        for finding in findings:
            self.compliance.raise_alert(
                transfer.id,
                transfer.account,
                transfer.amount,
                currency,
                finding.rule,
                finding.reason,
            )
