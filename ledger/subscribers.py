"""The ledger's sides of two choreographies: an escalated alert freezes its account, and a
forgotten customer's accounts are closed or frozen.

Compliance never calls the ledger. It publishes ``compliance.alert.resolved``; this subscriber
(``ledger:compliance-decisions``) consumes it and, for the decision ``escalated``, freezes the
account named in the event. Cleared alerts need nothing.

Each escalation is applied once: ``AppliedEscalation`` rows are written in the transaction that
moves the subscriber's position, so a replay skips them. A redelivery after a crash between the
freeze (ledger store) and that commit freezes a frozen account, which changes nothing.
A closed account is recorded as such and skipped: it moves no money, so there is nothing left
to stop, and refusing would only park the message forever. An account the ledger does not know
is a real inconsistency: that message is parked for an operator (``retry_dead_letters``).

The customers context never calls the ledger either. It publishes ``customer.forgotten``; the
``ledger:forgotten-customers`` subscriber retires that customer's accounts by the policy of
``LedgerApplication.retire_accounts_of`` (empty: closed; holding money: frozen), once per
customer (``RetiredCustomer`` rows, as above). The money history stays as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from ledger.application import LedgerApplication
from ledger.domain import AccountClosed, AccountStatus
from ledger.models import AppliedEscalation, RetiredCustomer
from messaging.subscriber import Delivery

logger = logging.getLogger(__name__)

ESCALATED = "escalated"


class ComplianceDecisions:
    name = "ledger:compliance-decisions"
    event_types = ("compliance.alert.resolved",)

    def __init__(self, ledger: LedgerApplication) -> None:
        self.ledger = ledger

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        escalations = [d for d in deliveries if d.event["data"]["decision"] == ESCALATED]
        applied = set(
            AppliedEscalation.objects.filter(
                alert_id__in={UUID(d.event["aggregate_id"]) for d in escalations}
            ).values_list("alert_id", flat=True)
        )
        for delivery in escalations:
            alert_id = UUID(delivery.event["aggregate_id"])
            if alert_id in applied:
                continue
            account = UUID(delivery.event["data"]["account"])
            with delivery.caused():
                outcome = self.freeze(account, alert_id, delivery.event["data"]["note"])
            AppliedEscalation.objects.create(alert_id=alert_id, account=account, outcome=outcome)
            applied.add(alert_id)

    def freeze(self, account_id: UUID, alert_id: UUID, note: str) -> AppliedEscalation.Outcome:
        ledger = self.ledger
        if ledger.get_account(account_id).status == AccountStatus.FROZEN:
            return AppliedEscalation.Outcome.ALREADY_FROZEN
        reason = f"compliance alert {alert_id} escalated" + (f": {note}" if note else "")
        try:
            ledger.freeze_account(account_id, reason[:500])
        except AccountClosed:
            logger.info("alert %s escalated for closed account %s: skipped", alert_id, account_id)
            return AppliedEscalation.Outcome.CLOSED
        return AppliedEscalation.Outcome.FROZEN


class ForgottenCustomers:
    name = "ledger:forgotten-customers"
    event_types = ("customer.forgotten",)
    reason = "customer forgotten"  # the freeze's reason, on the account's event

    def __init__(self, ledger: LedgerApplication) -> None:
        self.ledger = ledger

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        customers = {d.event["data"]["customer"] for d in deliveries}
        retired = set(
            RetiredCustomer.objects.filter(customer__in=customers).values_list(
                "customer", flat=True
            )
        )
        for delivery in deliveries:
            customer = delivery.event["data"]["customer"]
            if customer in retired:
                continue
            with delivery.caused():
                statuses = list(self.ledger.retire_accounts_of(customer, self.reason).values())
            RetiredCustomer.objects.create(
                customer=customer,
                closed=statuses.count(AccountStatus.CLOSED),
                frozen=statuses.count(AccountStatus.FROZEN),
            )
            retired.add(customer)
