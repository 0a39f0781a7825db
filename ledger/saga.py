"""TransferFunds: debit the source, credit the destination; if the credit is refused, refund.

    step                 compensation
    debit_source         refund_source
    credit_destination   (pivot: once the money has arrived, the transfer completes)

Both accounts and the saga live in the ledger's store, so each step commits in one
transaction with the saga's record of it: a crash leaves either both or neither.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain import LedgerError
from sagas.engine import Effects, Saga, SagaDefinition, Step

if TYPE_CHECKING:
    from ledger.application import LedgerApplication


@dataclass(frozen=True)
class TransferFacts:
    """What a transfer moves, declared once: recorded when it starts, and again on the event
    that ends it, so a consumer of ``transfer.completed`` needs nothing else."""

    from_account: UUID
    to_account: UUID
    amount: int
    currency: str
    reference: str


class Transfer(Saga):
    """A fund transfer: the saga's progress, and what ``GET /api/transfers/{id}/`` shows."""

    class Started(TransferFacts, Saga.Started):
        # Added with batches. A transfer stored before has none, and reads as not batched:
        # the library rebuilds an event from its stored fields, so the default fills the gap.
        batch_id: UUID | None = None

    class Completed(TransferFacts, Saga.Completed):
        pass

    class Compensated(TransferFacts, Saga.Compensated):
        pass

    class Failed(TransferFacts, Saga.Failed):
        pass

    def __init__(
        self,
        id: UUID,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        currency: str,
        reference: str,
        deadline: datetime,
        batch_id: UUID | None = None,
    ) -> None:
        super().__init__(deadline)
        self.from_account = from_account
        self.to_account = to_account
        self.amount = amount
        self.currency = currency
        self.reference = reference
        self.batch_id = batch_id

    def outcome_facts(self) -> dict[str, Any]:
        return {fact.name: getattr(self, fact.name) for fact in fields(TransferFacts)}


class TransferBatch(Aggregate):
    """Transfers submitted together: which, in the order sent, and whether all or nothing.

    It commits with the transfers' starts, so a batch on record is a batch under way, and
    recovery finishes its transfers together, as the request would have (``linked`` holds).
    """

    @event("Submitted")
    def __init__(self, id: UUID, transfer_ids: list[UUID], linked: bool, submitted_by: str) -> None:
        self.transfer_ids = transfer_ids
        self.linked = linked
        self.submitted_by = submitted_by


def debit_source(ledger: LedgerApplication, transfer: Transfer) -> Effects:
    source = ledger.get_account(transfer.from_account)
    source.debit_for_transfer(transfer.id, transfer.amount, transfer.to_account)
    return [source]


def refund_source(ledger: LedgerApplication, transfer: Transfer) -> Effects:
    source = ledger.get_account(transfer.from_account)
    source.refund_transfer(transfer.id, transfer.amount, transfer.to_account)
    return [source]


def credit_destination(ledger: LedgerApplication, transfer: Transfer) -> Effects:
    destination = ledger.get_account(transfer.to_account)
    destination.credit_for_transfer(
        transfer.id, transfer.amount, transfer.currency, transfer.from_account
    )
    return [destination]


class TransferFunds(SagaDefinition["LedgerApplication", Transfer]):
    saga_class = Transfer
    business_errors = (LedgerError,)
    steps = (
        Step(
            "debit_source",
            debit_source,
            compensation=refund_source,
            reads=lambda transfer: [transfer.from_account],
        ),
        Step(
            "credit_destination",
            credit_destination,
            pivot=True,
            reads=lambda transfer: [transfer.to_account],
        ),
    )
