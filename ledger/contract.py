"""The events the ledger publishes: their public names, and which fields are amounts.

Subscribers depend on these names and on the envelope (``kernel.events``), never on the
classes behind them: rename a class freely, never a published name.
"""

from __future__ import annotations

from kernel.events import EventCatalogue, published
from ledger.domain import Account, CashMovement
from ledger.holds import Hold
from ledger.saga import Transfer, TransferBatch

LEDGER_EVENTS = EventCatalogue(
    "ledger",
    {
        Account.Opened: published("account.opened"),
        Account.Credited: published("account.credited", "amount", "balance"),
        Account.Debited: published("account.debited", "amount", "balance"),
        Account.Frozen: published("account.frozen"),
        Account.Unfrozen: published("account.unfrozen"),
        Account.Closed: published("account.closed"),
        Account.DebitHeld: published("account.debit_held", "amount", "held", "balance"),
        Account.CreditHeld: published("account.credit_held", "amount", "incoming", "balance"),
        Account.HoldReleased: published(
            "account.hold_released", "amount", "held", "incoming", "balance"
        ),
        CashMovement.Recorded: published("cash_movement.recorded", "amount"),
        Hold.Placed: published("hold.placed", "amount"),
        Hold.Captured: published("hold.captured", "amount", "captured"),
        Hold.Voided: published("hold.voided", "amount"),
        Hold.Expired: published("hold.expired", "amount"),
        Transfer.Started: published("transfer.started", "amount"),
        Transfer.StepSucceeded: published("transfer.step_succeeded"),
        Transfer.StepFailed: published("transfer.step_failed"),
        Transfer.StepCompensated: published("transfer.step_compensated"),
        Transfer.Completed: published("transfer.completed", "amount"),
        Transfer.Compensated: published("transfer.compensated", "amount"),
        Transfer.Failed: published("transfer.failed", "amount"),
        TransferBatch.Submitted: published("transfer_batch.submitted"),
    },
)
