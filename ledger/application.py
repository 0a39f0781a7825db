"""The ledger's use cases: open and move accounts, run transfers, place and settle holds, and
recover what a crash interrupted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.persistence import RecordConflictError
from eventsourcing.utils import get_topic

from kernel.application import EventSourcedApplication
from ledger.contract import LEDGER_EVENTS
from ledger.domain import (
    CASH_OWNER,
    Account,
    AccountNotFound,
    AccountStatus,
    CashKind,
    CashMovement,
    EntryKind,
    HoldNotFound,
    InvalidBatch,
    InvalidState,
    SameAccount,
    TransferNotFound,
)
from ledger.holds import Hold, HoldStatus
from ledger.saga import Transfer, TransferBatch, TransferFunds
from sagas.engine import AfterCommit, SagaRunner, deadline_from_now, unfinished_saga_ids

# The account order payments go to, one per currency. Its owner is not a possible username
# (Django's allow no colon), so no customer can ever see or move it.
MERCHANT_OWNER = "system:merchant"
_MERCHANT_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/merchant-accounts")
_CASH_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/cash-accounts")
_CASH_MOVEMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/cash-movements")


def _cash_movement_id(kind: CashKind, account_id: UUID, reference: str) -> UUID:
    """A deposit's or withdrawal's id: its reference's, for the account it moves."""
    return uuid5(_CASH_MOVEMENT_NAMESPACE, f"{kind}:{account_id}:{reference}")


@dataclass(frozen=True)
class TransferInstruction:
    """One transfer of a batch, as it was submitted."""

    from_account: UUID
    to_account: UUID
    amount: int
    reference: str = ""


class LedgerApplication(EventSourcedApplication):
    name = "ledger"
    catalogue = LEDGER_EVENTS
    snapshotting_intervals = {Account: 100}  # a first read of an account folds < 100 events
    transfer_deadline_seconds = 60.0
    hold_expiry_seconds = 7 * 24 * 60 * 60  # a hold nobody captures or voids ends in a week

    # --- Accounts ----------------------------------------------------------------------------

    def open_account(self, owner: str, currency: str, account_id: UUID | None = None) -> Account:
        """Open an account. Opening an id that exists returns it (a retried request)."""
        account = Account(id=account_id or uuid4(), owner=owner, currency=currency)
        try:
            self.save(account)
        except RecordConflictError:
            existing = self.find(account.id, Account)
            if existing is None:
                raise
            if existing.owner != owner or existing.currency != currency:
                raise InvalidState(f"Account {account.id} exists with other details.") from None
            return existing
        return account

    def merchant_account(self, currency: str) -> Account:
        """The system's own merchant account in ``currency``, opened on first use."""
        return self._system_account(MERCHANT_OWNER, _MERCHANT_NAMESPACE, currency)

    def cash_account(self, currency: str) -> Account:
        """The system's cash account in ``currency``, opened on first use: the other leg of
        every deposit and withdrawal (``ledger.domain``)."""
        return self._system_account(CASH_OWNER, _CASH_NAMESPACE, currency)

    def _system_account(self, owner: str, namespace: UUID, currency: str) -> Account:
        account_id = uuid5(namespace, currency)
        return self.find(account_id, Account) or self.open_account(
            owner, currency, account_id=account_id
        )

    def get_account(self, account_id: UUID) -> Account:
        account = self.find(account_id, Account)
        if account is None:
            raise AccountNotFound(f"Account {account_id} not found.")
        return account

    def currency_of(self, account_id: UUID) -> str:
        """An account's currency, read from its opening event alone (see ``_opened``)."""
        return str(self._opened(account_id).currency)

    def owner_of(self, account_id: UUID) -> str:
        """An account's owner, read from its opening event alone (see ``_opened``)."""
        return str(self._opened(account_id).owner)

    @cached_property
    def _opened(self) -> Callable[[UUID], Any]:
        """An account's opening event. Its owner and currency never change, so checking them
        before a transfer needs no fold of the account's history, and, being facts that never
        change, they are remembered (an account that does not exist is not)."""

        @lru_cache(maxsize=100_000)
        def read(account_id: UUID) -> Any:
            opened = next(iter(self.events.get(account_id, lte=1)), None)
            if not isinstance(opened, Account.Opened):  # type: ignore[attr-defined]  # (@event)
                raise AccountNotFound(f"Account {account_id} not found.")
            return opened

        return read

    def deposit(self, account_id: UUID, amount: int, reference: str) -> Account:
        """Cash in: the account credited, the cash account debited. Once per reference."""
        return self._move_cash(CashKind.DEPOSIT, account_id, amount, reference)

    def withdraw(self, account_id: UUID, amount: int, reference: str) -> Account:
        """Cash out: the account debited, the cash account credited. Once per reference."""
        return self._move_cash(CashKind.WITHDRAWAL, account_id, amount, reference)

    def find_cash_movement(
        self, kind: CashKind, account_id: UUID, reference: str
    ) -> CashMovement | None:
        """The deposit or withdrawal made with this reference, if there is one."""
        return self.find(_cash_movement_id(kind, account_id, reference), CashMovement)

    def _move_cash(self, kind: CashKind, account_id: UUID, amount: int, reference: str) -> Account:
        movement_id = _cash_movement_id(kind, account_id, reference)

        def attempt() -> Account:
            if self.find(movement_id, CashMovement) is not None:
                return self.get_account(account_id)  # moved before: a retried request
            account = self.get_account(account_id)
            if account.is_system:
                raise InvalidState(f"Account {account_id} is the system's own.")
            cash = self.cash_account(account.currency)
            if kind == CashKind.DEPOSIT:
                account.deposit(amount, reference, cash.id)
                cash.debit(amount, EntryKind.DEPOSIT, reference, account.id)
            else:
                account.withdraw(amount, reference, cash.id)
                cash.credit(amount, EntryKind.WITHDRAWAL, reference, account.id)
            movement = CashMovement(
                id=movement_id,
                kind=kind.value,
                account=account_id,
                amount=amount,
                currency=account.currency,
                reference=reference,
            )
            self.save(account, cash, movement)
            return account

        return self.retrying(attempt)

    def freeze_account(self, account_id: UUID, reason: str) -> Account:
        return self._change(account_id, lambda a: a.freeze(reason))

    def unfreeze_account(self, account_id: UUID) -> Account:
        return self._change(account_id, lambda a: a.unfreeze())

    def close_account(self, account_id: UUID) -> Account:
        return self._change(account_id, lambda a: a.close())

    def accounts_of(self, owner: str) -> list[UUID]:
        """Every account ever opened for ``owner``, oldest first, from the log's opening events
        (the store has no index by owner): for what is rare, such as forgetting a customer; the
        ``accounts`` projection answers lists."""
        opened = self.events_of_type(Account.Opened)  # type: ignore[attr-defined]  # (@event)
        return [event.originator_id for event in opened if event.owner == owner]

    def retire_accounts_of(self, owner: str, reason: str) -> dict[UUID, AccountStatus]:
        """What a forgotten customer's accounts become (``docs/decisions/0006``): an empty one
        is closed; one that holds money (posted, or pending in a hold) is frozen, its money
        kept for an operator to pay out; a closed one stays as it is. Each account is decided on
        a fresh read, so money that arrives meanwhile makes it frozen, not closed. Their status
        afterwards, by id."""

        def retire(account: Account) -> None:
            if account.status == AccountStatus.CLOSED:
                return
            if account.holds_money:
                account.freeze(reason)
            else:
                account.close()

        return {a: self._change(a, retire).status for a in self.accounts_of(owner)}

    def _change(self, account_id: UUID, command: Callable[[Account], None]) -> Account:
        def attempt() -> Account:
            account = self.get_account(account_id)
            command(account)
            self.save(account)
            return account

        return self.retrying(attempt)

    # --- Transfers ---------------------------------------------------------------------------

    def transfer_funds(
        self,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        *,
        transfer_id: UUID | None = None,
        reference: str = "",
        after_commit: AfterCommit | None = None,
    ) -> Transfer:
        """Move money between two accounts as a saga; return the transfer in its final state.

        Rejected before anything starts: the same account twice, a bad amount, an account that
        does not exist. Everything else (funds, frozen, closed, currencies) is the saga's to
        decide, and a refusal leaves a transfer that is ``failed`` or ``compensated``.
        A ``transfer_id`` that already exists resumes that transfer instead of starting another:
        the runner finds out when the new start loses the version race to the recorded one
        (a retried request pays no extra read for the first try's sake).
        """
        transfer = self._new_transfer(
            TransferInstruction(from_account, to_account, amount, reference), transfer_id or uuid4()
        )
        return self.transfer_runner(after_commit).start(transfer)

    def transfer_batch(
        self,
        instructions: Sequence[TransferInstruction],
        *,
        batch_id: UUID | None = None,
        linked: bool = False,
        submitted_by: str = "",
        after_commit: AfterCommit | None = None,
    ) -> tuple[TransferBatch, list[Transfer]]:
        """Run many transfers together: their sagas advance in lockstep, a commit per round for
        all of them instead of two per transfer (``SagaRunner.start_batch``). Each is checked
        before anything starts, as ``transfer_funds`` checks one, so one bad instruction
        refuses the batch with nothing written. Then each ends on its own (a refused transfer
        does not refuse its neighbours), unless ``linked``: all complete, or none moves money.
        A ``batch_id`` that exists resumes that batch; its transfers' ids follow from it.
        """
        if not instructions:
            raise InvalidBatch("A batch needs at least one transfer.")
        batch_id = batch_id or uuid4()
        transfers = [
            self._new_transfer(instruction, uuid5(batch_id, str(index)), batch_id=batch_id)
            for index, instruction in enumerate(instructions)
        ]
        batch = TransferBatch(
            id=batch_id,
            transfer_ids=[t.id for t in transfers],
            linked=linked,
            submitted_by=submitted_by,
        )
        runner = self.transfer_runner(after_commit)
        return batch, runner.start_batch(transfers, linked=linked, records=[batch])

    def _new_transfer(
        self, instruction: TransferInstruction, transfer_id: UUID, batch_id: UUID | None = None
    ) -> Transfer:
        """A transfer not started yet, after the checks that need no saga: the same account
        twice, a bad amount, an account that does not exist."""
        currency = self._check_movement(
            instruction.from_account, instruction.to_account, instruction.amount
        )
        return Transfer(
            id=transfer_id,
            from_account=instruction.from_account,
            to_account=instruction.to_account,
            amount=instruction.amount,
            currency=currency,
            reference=instruction.reference,
            deadline=deadline_from_now(self.transfer_deadline_seconds),
            batch_id=batch_id,
        )

    def _check_movement(self, from_account: UUID, to_account: UUID, amount: int) -> str:
        """What is refused before a transfer or a hold starts: the same account twice, a bad
        amount, an account that does not exist, the cash account (it moves only by deposits
        and withdrawals). Returns the currency, the source's."""
        if from_account == to_account:
            raise SameAccount("Money moves between two different accounts.")
        Account.check_amount(amount)
        for account_id in (from_account, to_account):
            if self.owner_of(account_id) == CASH_OWNER:
                raise InvalidState(f"Account {account_id} moves only by deposits and withdrawals.")
        return self.currency_of(from_account)

    def get_transfer_batch(self, batch_id: UUID) -> tuple[TransferBatch, list[Transfer]]:
        """A batch and its transfers, in the order they were submitted."""
        batch = self.find(batch_id, TransferBatch)
        if batch is None:
            raise TransferNotFound(f"Transfer batch {batch_id} not found.")
        return batch, [self.get_transfer(i) for i in batch.transfer_ids]

    def get_transfer(self, transfer_id: UUID) -> Transfer:
        transfer = self.find_transfer(transfer_id)
        if transfer is None:
            raise TransferNotFound(f"Transfer {transfer_id} not found.")
        return transfer

    def find_transfer(self, transfer_id: UUID) -> Transfer | None:
        return self.find(transfer_id, Transfer)

    def transfer_runner(
        self, after_commit: AfterCommit | None = None
    ) -> SagaRunner[LedgerApplication, Transfer]:
        return SagaRunner(self, TransferFunds, self, after_commit=after_commit)

    def unfinished_transfers(self, older_than_seconds: float = 0.0) -> list[UUID]:
        """Transfers left mid-way whose last step is older than the given age."""
        return [t.id for t in self._unfinished(older_than_seconds)]

    def _unfinished(self, older_than_seconds: float) -> list[Transfer]:
        now = datetime.now(UTC)
        unfinished = (self.get_transfer(i) for i in unfinished_saga_ids(self, Transfer))
        return [
            t
            for t in unfinished
            if not t.is_finished and (now - t.modified_on).total_seconds() >= older_than_seconds
        ]

    def resume_transfer(self, transfer_id: UUID) -> Transfer:
        """Run one transfer to its end now (an operator's "recover now"); a finished one is
        returned as it is. Safe beside a request still running it: the saga's version decides.
        A transfer of a batch is resumed with its batch, so a linked batch stays linked."""
        transfer = self.get_transfer(transfer_id)
        if transfer.batch_id is not None:
            (resumed,) = (t for t in self._resume_batch(transfer.batch_id) if t.id == transfer_id)
            return resumed
        return self.transfer_runner().run(transfer_id)

    def recover_transfers(self, older_than_seconds: float = 0.0) -> list[Transfer]:
        """Finish or compensate every transfer left mid-way; return them in their final state.
        Transfers of one batch are finished together, as their batch would have been."""
        runner, recovered = self.transfer_runner(), []
        batched: dict[UUID, set[UUID]] = {}
        for transfer in self._unfinished(older_than_seconds):
            if transfer.batch_id is None:
                recovered.append(runner.run(transfer.id))
            else:
                batched.setdefault(transfer.batch_id, set()).add(transfer.id)
        for batch_id, unfinished in batched.items():
            recovered += [t for t in self._resume_batch(batch_id) if t.id in unfinished]
        return recovered

    def _resume_batch(self, batch_id: UUID) -> list[Transfer]:
        """Run a batch's transfers together to their ends (the finished ones stay as they are)."""
        batch = self.find(batch_id, TransferBatch)
        assert batch is not None, f"transfer batch {batch_id} is missing"  # they commit together
        return self.transfer_runner().run_batch(batch.transfer_ids, linked=batch.linked)

    # --- Holds -------------------------------------------------------------------------------

    def place_hold(
        self,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        *,
        expires_in: float | None = None,
        reference: str = "",
        hold_id: UUID | None = None,
        now: datetime | None = None,
    ) -> Hold:
        """Reserve ``amount`` on one account for another, until captured, voided or expired
        (``expires_in`` seconds; a week when None). Refused as a debit and a credit would be;
        nothing is stored then. A ``hold_id`` that exists answers that hold (a retried request)."""
        currency = self._check_movement(from_account, to_account, amount)
        hold_id = hold_id or uuid4()
        seconds = self.hold_expiry_seconds if expires_in is None else expires_in
        expires_at = (now or datetime.now(UTC)) + timedelta(seconds=seconds)

        def attempt() -> Hold:
            existing = self.find(hold_id, Hold)
            if existing is not None:
                return existing
            source, destination = self.get_account(from_account), self.get_account(to_account)
            source.hold_debit(hold_id, amount, to_account)
            destination.hold_credit(hold_id, amount, currency, from_account)
            hold = Hold(
                id=hold_id,
                from_account=from_account,
                to_account=to_account,
                amount=amount,
                currency=currency,
                reference=reference,
                expires_at=expires_at,
            )
            self.save(hold, source, destination)
            return hold

        return self.retrying(attempt)

    def capture_hold(
        self, hold_id: UUID, amount: int | None = None, *, now: datetime | None = None
    ) -> Hold:
        """Post ``amount`` of a hold (all of it when None) and release the rest. A captured hold
        answers as it was captured; a voided or expired one is ``invalid_state``."""
        return self._move_hold(hold_id, lambda hold, at: hold.capture(amount, at), now)

    def void_hold(self, hold_id: UUID, *, now: datetime | None = None) -> Hold:
        """Release a hold. A voided hold answers as it was voided; a captured or expired one is
        ``invalid_state``."""
        return self._move_hold(hold_id, lambda hold, at: hold.void(at), now)

    def expire_holds(self, *, now: datetime | None = None) -> list[Hold]:
        """Expire every pending hold past its expiry (the recovery loop calls this)."""
        at = now or datetime.now(UTC)
        expired = []
        for hold_id in self.pending_hold_ids():
            hold = self._move_hold(hold_id, lambda hold, at: hold.expire(at), at)
            if hold.status == HoldStatus.EXPIRED:
                expired.append(hold)
        return expired

    def _move_hold(
        self, hold_id: UUID, move: Callable[[Hold, datetime], bool], now: datetime | None
    ) -> Hold:
        """Make a move of a hold, and settle both accounts as it says, in one transaction. A
        hold found past its expiry is expired (and saved) before the move is refused."""

        def attempt() -> Hold:
            at = now or datetime.now(UTC)
            hold = self.get_hold(hold_id)
            if hold.expire(at):
                self._settle(hold)  # committed, whatever the move says next
            if move(hold, at):
                self._settle(hold)
            return hold

        return self.retrying(attempt)

    def _settle(self, hold: Hold) -> None:
        source, destination = self.get_account(hold.from_account), self.get_account(hold.to_account)
        source.settle_debit_hold(hold.id, hold.amount, hold.captured, hold.to_account)
        destination.settle_credit_hold(hold.id, hold.amount, hold.captured, hold.from_account)
        self.save(hold, source, destination)

    def get_hold(self, hold_id: UUID) -> Hold:
        hold = self.find(hold_id, Hold)
        if hold is None:
            raise HoldNotFound(f"Hold {hold_id} not found.")
        return hold

    def pending_hold_ids(self) -> list[UUID]:
        """Holds placed and not yet resolved, oldest first: a topic-filtered scan of the log,
        as ``sagas.engine.unfinished_saga_ids`` finds unfinished sagas."""
        placed = get_topic(Hold.Placed)
        topics = [placed, *sorted(get_topic(c) for c in (Hold.Captured, Hold.Voided, Hold.Expired))]
        pending: dict[UUID, None] = {}
        position, page = 0, 1000
        while notifications := self.notifications_after(position, page, topics=topics):
            for n in notifications:
                hold_id = n.originator_id
                assert isinstance(hold_id, UUID)
                if n.topic == placed:
                    pending[hold_id] = None
                else:
                    pending.pop(hold_id, None)
            position = notifications[-1].id
        return list(pending)
