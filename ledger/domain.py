"""The ledger's aggregates: accounts, and the record of each cash movement into or out of one.

Amounts are integers of minor units (cents). Money is kept in double entry: every movement has
two legs, a debit of one account and a credit of another, saved in one transaction, so for each
currency the balances of all accounts, the system's own included, sum to zero. Cash comes in
from, and goes out to, the system's cash account of its currency (``CASH_OWNER``), the one
account that may go below zero: its balance is the money customers hold at the bank.

An account's money is *posted* (``balance``) or *held*: a hold (``ledger.holds``) reserves an
amount on one account for another until it is captured, voided or expires. What an account can
spend is ``available``: posted minus held.

Each movement is applied once by the record that makes it, saved with its legs: a transfer's
saga records each step with the step's effect, a ``CashMovement`` is created with its legs
(a second one with its id is a conflict), a hold records each move with its effect. An account
itself remembers no references, so what it holds stays the same size however long it lives.
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


class HoldNotFound(LedgerError):
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


# The owners of the system's own accounts: no customer can hold such a name (Django's usernames
# allow no colon), so no customer can see or move them.
SYSTEM_PREFIX = "system:"
CASH_OWNER = "system:cash"  # deposits come from it and withdrawals go to it: one per currency


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
    HOLD = "hold"  # a captured hold, posted


class Account(Aggregate):
    # Version 2 (holds, double entry) keeps what is held, and no longer every reference it has
    # applied. Snapshots taken by version 1 are read by ``upcast_v1_v2``; its events are the same.
    class_version = 2

    @event("Opened")
    def __init__(self, id: UUID, owner: str, currency: str) -> None:
        self.owner = owner
        self.currency = currency
        self.balance = 0  # posted
        self.held = 0  # pending debits: holds on this account not yet captured or released
        self.incoming = 0  # pending credits: holds for this account
        self.status = AccountStatus.OPEN

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        """A snapshot taken before holds: nothing was held, and the references the account had
        applied (``applied``) are not kept: each movement is applied once by its own record."""
        state.pop("applied", None)
        state["held"] = 0
        state["incoming"] = 0

    @property
    def available(self) -> int:
        """What the account can spend or hold: posted, less what holds reserve."""
        return self.balance - self.held

    @property
    def is_system(self) -> bool:
        return self.owner.startswith(SYSTEM_PREFIX)

    @property
    def holds_money(self) -> bool:
        """Anything posted, held by a hold on it, or coming to it by a hold: what stops it
        closing."""
        return bool(self.balance or self.held or self.incoming)

    # --- Commands: posted movements ------------------------------------------------------

    def deposit(self, amount: int, reference: str, cash: UUID) -> None:
        """Cash in, from the cash account ``cash`` (whose leg is its ``debit``)."""
        self.credit(amount, EntryKind.DEPOSIT, reference, cash)

    def withdraw(self, amount: int, reference: str, cash: UUID) -> None:
        """Cash out, to the cash account ``cash`` (whose leg is its ``credit``)."""
        self.debit(amount, EntryKind.WITHDRAWAL, reference, cash)

    def debit_for_transfer(self, transfer_id: UUID, amount: int, counterparty: UUID) -> None:
        self.debit(amount, EntryKind.TRANSFER, str(transfer_id), counterparty)

    def credit_for_transfer(
        self, transfer_id: UUID, amount: int, currency: str, counterparty: UUID
    ) -> None:
        self.check_currency(currency)
        self.credit(amount, EntryKind.TRANSFER, str(transfer_id), counterparty)

    def refund_transfer(self, transfer_id: UUID, amount: int, counterparty: UUID) -> None:
        """Give back a transfer's debit. A compensation: it never says no, whatever the status."""
        self.check_amount(amount)
        self._credit(amount, EntryKind.REFUND, str(transfer_id), counterparty)

    def debit(self, amount: int, kind: EntryKind, reference: str, counterparty: UUID) -> None:
        self.check_amount(amount)
        self.check_can_pay(amount)
        self._debit(amount, kind, reference, counterparty)

    def credit(self, amount: int, kind: EntryKind, reference: str, counterparty: UUID) -> None:
        self.check_amount(amount)
        self.check_can_receive()
        self._credit(amount, kind, reference, counterparty)

    # --- Commands: holds ---------------------------------------------------------------------

    def hold_debit(self, hold_id: UUID, amount: int, counterparty: UUID) -> None:
        """Reserve ``amount`` for a hold: refused as a debit would be, against what is available."""
        self.check_amount(amount)
        self.check_can_pay(amount)
        self._debit_held(amount, hold_id, counterparty, self.held + amount, self.balance)

    def hold_credit(self, hold_id: UUID, amount: int, currency: str, counterparty: UUID) -> None:
        """Expect ``amount`` from a hold: refused as a credit would be."""
        self.check_amount(amount)
        self.check_currency(currency)
        self.check_can_receive()
        self._credit_held(amount, hold_id, counterparty, self.incoming + amount, self.balance)

    def settle_debit_hold(
        self, hold_id: UUID, held: int, captured: int, counterparty: UUID
    ) -> None:
        """Release what a hold reserved here, and post the part of it that was captured (none
        when it was voided or expired). It settles what was promised: never refused."""
        self._hold_released(held, hold_id, "debit", self.held - held, self.incoming, self.balance)
        if captured:
            self._debit(captured, EntryKind.HOLD, str(hold_id), counterparty)

    def settle_credit_hold(
        self, hold_id: UUID, expected: int, captured: int, counterparty: UUID
    ) -> None:
        """Release what a hold promised here, and post the part of it that was captured."""
        self._hold_released(
            expected, hold_id, "credit", self.held, self.incoming - expected, self.balance
        )
        if captured:
            self._credit(captured, EntryKind.HOLD, str(hold_id), counterparty)

    # --- Commands: status --------------------------------------------------------------------

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
        if self.holds_money:
            raise InvalidState(f"Account {self.id} still holds money; empty it first.")
        self._closed()

    # --- Guards ----------------------------------------------------------------------------

    @staticmethod
    def check_amount(amount: int) -> None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InvalidAmount("An amount must be a positive whole number of cents.")

    def check_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise CurrencyMismatch(f"Account {self.id} holds {self.currency}, not {currency}.")

    def check_can_receive(self) -> None:
        if self.status == AccountStatus.CLOSED:
            raise AccountClosed(f"Account {self.id} is closed.")
        if self.status == AccountStatus.FROZEN:
            raise AccountFrozen(f"Account {self.id} is frozen.")

    def check_can_pay(self, amount: int) -> None:
        self.check_can_receive()
        if amount > self.available and self.owner != CASH_OWNER:
            raise InsufficientFunds(f"Account {self.id} cannot pay this amount.")

    # --- Events ----------------------------------------------------------------------------

    def _credit(
        self, amount: int, kind: EntryKind, reference: str, counterparty: UUID | None
    ) -> None:
        self._credited(amount, kind.value, reference, counterparty, self.balance + amount)

    def _debit(
        self, amount: int, kind: EntryKind, reference: str, counterparty: UUID | None
    ) -> None:
        self._debited(amount, kind.value, reference, counterparty, self.balance - amount)

    # ``counterparty`` is the other leg's account; ``None`` only on deposits and withdrawals
    # stored before double entry, which had no other leg.
    @event("Credited")
    def _credited(
        self, amount: int, kind: str, reference: str, counterparty: UUID | None, balance: int
    ) -> None:
        self.balance = balance

    @event("Debited")
    def _debited(
        self, amount: int, kind: str, reference: str, counterparty: UUID | None, balance: int
    ) -> None:
        self.balance = balance

    # The held events carry the posted ``balance`` too (unchanged by them), so that a reader of
    # any one event of an account knows its balance and what is held.
    @event("DebitHeld")
    def _debit_held(
        self, amount: int, hold_id: UUID, counterparty: UUID, held: int, balance: int
    ) -> None:
        self.held = held

    @event("CreditHeld")
    def _credit_held(
        self, amount: int, hold_id: UUID, counterparty: UUID, incoming: int, balance: int
    ) -> None:
        self.incoming = incoming

    @event("HoldReleased")
    def _hold_released(
        self, amount: int, hold_id: UUID, direction: str, held: int, incoming: int, balance: int
    ) -> None:
        self.held = held
        self.incoming = incoming

    @event("Frozen")
    def _frozen(self, reason: str) -> None:
        self.status = AccountStatus.FROZEN

    @event("Unfrozen")
    def _unfrozen(self) -> None:
        self.status = AccountStatus.OPEN

    @event("Closed")
    def _closed(self) -> None:
        self.status = AccountStatus.CLOSED


class CashKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class CashMovement(Aggregate):
    """A deposit or a withdrawal, recorded once: created in the transaction that posts its two
    legs (the customer's account and the cash account), with an id that follows from its
    reference, so the same movement offered again (a retried request) conflicts with it and
    moves nothing."""

    @event("Recorded")
    def __init__(
        self, id: UUID, kind: str, account: UUID, amount: int, currency: str, reference: str
    ) -> None:
        self.kind = kind
        self.account = account
        self.amount = amount
        self.currency = currency
        self.reference = reference
