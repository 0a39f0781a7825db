"""The compliance context's use cases, on its own event store: raise alerts, review them."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from compliance.contract import COMPLIANCE_EVENTS
from compliance.domain import Alert, AlertNotFound
from kernel.application import EventSourcedApplication


class ComplianceApplication(EventSourcedApplication):
    name = "compliance"
    catalogue = COMPLIANCE_EVENTS

    def raise_alert(
        self,
        transfer_id: UUID,
        account: UUID,
        amount: int,
        currency: str,
        rule: str,
        reason: str,
    ) -> Alert:
        """Raise ``rule``'s alert about a transfer; if it was raised before, return that one.

        The id is the transfer's and the rule's, so a redelivered transfer — even one whose
        alert was stored just before a crash that lost the subscriber's position — finds the
        alert in place and stores nothing.
        """
        alert = Alert.raise_for(transfer_id, account, amount, currency, rule, reason)
        try:
            self.save(alert)
        except RecordConflictError:
            existing = self.find(alert.id, Alert)
            if existing is None:
                raise
            return existing
        return alert

    def get_alert(self, alert_id: UUID) -> Alert:
        alert = self.find(alert_id, Alert)
        if alert is None:
            raise AlertNotFound(f"Alert {alert_id} not found.")
        return alert

    def resolve_alert(self, alert_id: UUID, decision: str, by: str, note: str = "") -> Alert:
        """Clear or escalate an open alert (``escalated``: the ledger freezes the account)."""

        def attempt() -> Alert:
            alert = self.get_alert(alert_id)
            alert.resolve(decision, by, note)
            self.save(alert)
            return alert

        return self.retrying(attempt)
