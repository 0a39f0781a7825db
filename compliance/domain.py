"""The compliance context's aggregate: an alert a rule raised about a transfer, and its review.

An alert's id is derived from the transfer and the rule (:func:`alert_id`), so however often a
``transfer.completed`` is delivered, each rule can raise at most one alert about it: the second
attempt to create it finds the id taken.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from kernel.errors import DomainError


class ComplianceError(DomainError):
    """A business rule of the compliance context said no."""

    code = "compliance_error"


class AlertNotFound(ComplianceError):
    code = "not_found"


class AlertAlreadyResolved(ComplianceError):
    code = "invalid_state"


class InvalidDecision(ComplianceError):
    code = "invalid"


class AlertStatus(StrEnum):
    OPEN = "open"
    CLEARED = "cleared"
    ESCALATED = "escalated"


class Decision(StrEnum):
    """What a reviewer decides: nothing wrong, or a case (the ledger freezes the account)."""

    CLEARED = "cleared"
    ESCALATED = "escalated"


def alert_id(transfer_id: UUID, rule: str) -> UUID:
    """The one id an alert by ``rule`` about ``transfer_id`` can have."""
    return uuid5(transfer_id, rule)


class Alert(Aggregate):
    @event("Raised")
    def __init__(
        self,
        id: UUID,
        transfer_id: UUID,
        account: UUID,
        amount: int,
        currency: str,
        rule: str,
        reason: str,
    ) -> None:
        self.transfer_id = transfer_id
        self.account = account
        self.amount = amount
        self.currency = currency
        self.rule = rule
        self.reason = reason
        self.status = AlertStatus.OPEN
        self.resolved_by = ""
        self.note = ""

    @classmethod
    def raise_for(
        cls, transfer_id: UUID, account: UUID, amount: int, currency: str, rule: str, reason: str
    ) -> Alert:
        return cls(
            id=alert_id(transfer_id, rule),
            transfer_id=transfer_id,
            account=account,
            amount=amount,
            currency=currency,
            rule=rule,
            reason=reason,
        )

    @property
    def raised_at(self) -> datetime:
        return self.created_on

    @property
    def resolved_at(self) -> datetime | None:
        """When it was resolved: its last event, since nothing follows a resolution."""
        return None if self.status == AlertStatus.OPEN else self.modified_on

    def resolve(self, decision: str, by: str, note: str = "") -> None:
        """Clear or escalate. The account travels with the event: the ledger acts on it alone."""
        try:
            chosen = Decision(decision)
        except ValueError:
            raise InvalidDecision(
                f"A decision is one of {', '.join(d.value for d in Decision)}, not {decision!r}."
            ) from None
        self.check_open()
        self._resolved(chosen.value, self.account, by, note)

    def check_open(self) -> None:
        if self.status != AlertStatus.OPEN:
            raise AlertAlreadyResolved(f"Alert {self.id} is already {self.status}.")

    @event("Resolved")
    def _resolved(self, decision: str, account: UUID, resolved_by: str, note: str) -> None:
        self.status = AlertStatus(decision)
        self.resolved_by = resolved_by
        self.note = note
