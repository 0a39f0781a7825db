"""The ledger's aggregate: an account whose balance moves only by recorded, referenced entries.

Amounts are integers of minor units (cents). Every movement names a reference (a deposit's
operation id, a transfer's id); an account remembers which it has applied, so the same
movement offered twice — a retried request, a resumed saga — changes nothing the second time.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from kernel.errors import DomainError


class LedgerError(DomainError):
    """A business rule of the ledger said no."""

    code = "ledger_error"


class AccountNotFound(LedgerError):
    code = "not_found"


class TransferNotFound(LedgerError):
    code = "not_found"


class InvalidAmount(LedgerError):
    code = "invalid"


class InvalidBatch(LedgerError):
    code = "invalid"


class SameAccount(LedgerError):
    code = "same_account"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class AccountFrozen(LedgerError):
    code = "account_frozen"


class AccountClosed(LedgerError):
    code = "account_closed"


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class InvalidState(LedgerError):
    code = "invalid_state"


class AccountStatus(StrEnum):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


class EntryKind(StrEnum):
    """Why money moved; the ``transactions`` projection shows it to the customer."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    REFUND = "refund"  # a transfer's debit given back (the saga's compensation)


class Account(Aggregate):
    @event("Opened")
    def __init__(self, id: UUID, owner: str, currency: str) -> None:
        self.owner = owner
        self.currency = currency
        self.balance = 0
        self.status = AccountStatus.OPEN
        self.applied: dict[str, int] = {}  # "<direction>:<reference>" -> amount

    # --- Commands ------------------------------------------------------------------------

    def deposit(self, amount: int, reference: str) -> None:
        self.check_amount(amount)
        if self.has_applied("credit", reference):
            return
        self.check_can_receive()
        self._credit(amount, EntryKind.DEPOSIT, reference, None)

    def withdraw(self, amount: int, reference: str) -> None:
        self.check_amount(amount)
        if self.has_applied("debit", reference):
            return
        self.check_can_pay(amount)
        self._debit(amount, EntryKind.WITHDRAWAL, reference, None)

    def debit_for_transfer(self, transfer_id: UUID, amount: int, counterparty: UUID) -> None:
        self.check_amount(amount)
        if self.has_applied("debit", str(transfer_id)):
            return
        self.check_can_pay(amount)
        self._debit(amount, EntryKind.TRANSFER, str(transfer_id), counterparty)

    def credit_for_transfer(
        self, transfer_id: UUID, amount: int, currency: str, counterparty: UUID
    ) -> None:
        self.check_amount(amount)
        if self.has_applied("credit", str(transfer_id)):
            return
        self.check_can_receive()
        if currency != self.currency:
            raise CurrencyMismatch(f"Account {self.id} holds {self.currency}, not {currency}.")
        self._credit(amount, EntryKind.TRANSFER, str(transfer_id), counterparty)

    def refund_transfer(self, transfer_id: UUID, counterparty: UUID) -> None:
        """Give back a transfer's debit. A compensation: it never says no, whatever the status."""
        debited = self.applied.get(f"debit:{transfer_id}")
        if debited is None or self.has_applied("refund", str(transfer_id)):
            return
        self._credit(debited, EntryKind.REFUND, str(transfer_id), counterparty)

    def freeze(self, reason: str) -> None:
        if self.status == AccountStatus.CLOSED:
            raise AccountClosed(f"Account {self.id} is closed.")
        if self.status != AccountStatus.FROZEN:
            self._frozen(reason)

    def unfreeze(self) -> None:
        if self.status != AccountStatus.FROZEN:
            raise InvalidState(f"Account {self.id} is not frozen.")
        self._unfrozen()

    def close(self) -> None:
        if self.status == AccountStatus.CLOSED:
            return
        if self.balance != 0:
            raise InvalidState(f"Account {self.id} still holds money; empty it first.")
        self._closed()

    # --- Guards ----------------------------------------------------------------------------

    @staticmethod
    def check_amount(amount: int) -> None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InvalidAmount("An amount must be a positive whole number of cents.")

    def check_can_receive(self) -> None:
        if self.status == AccountStatus.CLOSED:
            raise AccountClosed(f"Account {self.id} is closed.")
        if self.status == AccountStatus.FROZEN:
            raise AccountFrozen(f"Account {self.id} is frozen.")

    def check_can_pay(self, amount: int) -> None:
        self.check_can_receive()
        if amount > self.balance:
            raise InsufficientFunds(f"Account {self.id} cannot pay this amount.")

    def has_applied(self, direction: str, reference: str) -> bool:
        return f"{direction}:{reference}" in self.applied

    # --- Events ----------------------------------------------------------------------------

    def _credit(
        self, amount: int, kind: EntryKind, reference: str, counterparty: UUID | None
    ) -> None:
        self._credited(amount, kind.value, reference, counterparty, self.balance + amount)

    def _debit(
        self, amount: int, kind: EntryKind, reference: str, counterparty: UUID | None
    ) -> None:
        self._debited(amount, kind.value, reference, counterparty, self.balance - amount)

    @event("Credited")
    def _credited(
        self, amount: int, kind: str, reference: str, counterparty: UUID | None, balance: int
    ) -> None:
        direction = "refund" if kind == EntryKind.REFUND.value else "credit"
        self.applied[f"{direction}:{reference}"] = amount
        self.balance = balance

    @event("Debited")
    def _debited(
        self, amount: int, kind: str, reference: str, counterparty: UUID | None, balance: int
    ) -> None:
        self.applied[f"debit:{reference}"] = amount
        self.balance = balance

    @event("Frozen")
    def _frozen(self, reason: str) -> None:
        self.status = AccountStatus.FROZEN

    @event("Unfrozen")
    def _unfrozen(self) -> None:
        self.status = AccountStatus.OPEN

    @event("Closed")
    def _closed(self) -> None:
        self.status = AccountStatus.CLOSED
