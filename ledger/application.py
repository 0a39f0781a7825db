"""The ledger's use cases: open and move accounts, run transfers, and recover interrupted ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.persistence import RecordConflictError

from kernel.application import EventSourcedApplication
from ledger.contract import LEDGER_EVENTS
from ledger.domain import Account, AccountNotFound, InvalidState, SameAccount, TransferNotFound
from ledger.saga import Transfer, TransferFunds
from sagas.engine import AfterCommit, SagaRunner, deadline_from_now, unfinished_saga_ids

# The account order payments go to, one per currency. Its owner is not a possible username
# (Django's allow no colon), so no customer can ever see or move it.
MERCHANT_OWNER = "system:merchant"
_MERCHANT_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/merchant-accounts")


class LedgerApplication(EventSourcedApplication):
    name = "ledger"
    catalogue = LEDGER_EVENTS
    snapshotting_intervals = {Account: 100}  # a first read of an account folds < 100 events
    transfer_deadline_seconds = 60.0

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
        account_id = uuid5(_MERCHANT_NAMESPACE, currency)
        return self.find(account_id, Account) or self.open_account(
            MERCHANT_OWNER, currency, account_id=account_id
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
        return self._change(account_id, lambda a: a.deposit(amount, reference))

    def withdraw(self, account_id: UUID, amount: int, reference: str) -> Account:
        return self._change(account_id, lambda a: a.withdraw(amount, reference))

    def freeze_account(self, account_id: UUID, reason: str) -> Account:
        return self._change(account_id, lambda a: a.freeze(reason))

    def unfreeze_account(self, account_id: UUID) -> Account:
        return self._change(account_id, lambda a: a.unfreeze())

    def close_account(self, account_id: UUID) -> Account:
        return self._change(account_id, lambda a: a.close())

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
        if from_account == to_account:
            raise SameAccount("A transfer needs two different accounts.")
        Account.check_amount(amount)
        currency = self.currency_of(from_account)
        self.currency_of(to_account)  # it exists
        transfer = Transfer(
            id=transfer_id or uuid4(),
            from_account=from_account,
            to_account=to_account,
            amount=amount,
            currency=currency,
            reference=reference,
            deadline=deadline_from_now(self.transfer_deadline_seconds),
        )
        return self.transfer_runner(after_commit).start(transfer)

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
        now = datetime.now(UTC)
        ids = []
        for transfer_id in unfinished_saga_ids(self, Transfer):
            transfer = self.get_transfer(transfer_id)
            if not transfer.is_finished and (
                (now - transfer.modified_on).total_seconds() >= older_than_seconds
            ):
                ids.append(transfer_id)
        return ids

    def resume_transfer(self, transfer_id: UUID) -> Transfer:
        """Run one transfer to its end now (an operator's "recover now"); a finished one is
        returned as it is. Safe beside a request still running it: the saga's version decides."""
        self.get_transfer(transfer_id)
        return self.transfer_runner().run(transfer_id)

    def recover_transfers(self, older_than_seconds: float = 0.0) -> list[Transfer]:
        """Finish or compensate every transfer left mid-way; return them in their final state."""
        runner = self.transfer_runner()
        return [runner.run(i) for i in self.unfinished_transfers(older_than_seconds)]
