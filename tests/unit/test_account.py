"""The Account aggregate: each guard, posted and held money, and a snapshot from before holds."""

import copy
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.domain import Snapshot

from ledger.domain import (
    CASH_OWNER,
    Account,
    AccountClosed,
    AccountFrozen,
    AccountStatus,
    CurrencyMismatch,
    EntryKind,
    InsufficientFunds,
    InvalidAmount,
    InvalidState,
)

CASH = uuid4()  # the other leg of deposits and withdrawals (the cash account's id)


def opened(balance: int = 0, currency: str = "EUR", owner: str = "alice") -> Account:
    account = Account(id=uuid4(), owner=owner, currency=currency)
    if balance:
        account.deposit(balance, "opening", CASH)
    return account


def test_a_new_account_is_open_and_empty() -> None:
    account = opened()
    assert (account.balance, account.held, account.incoming, account.available) == (0, 0, 0, 0)
    assert (account.status, account.currency) == (AccountStatus.OPEN, "EUR")


def test_deposit_and_withdraw_move_the_balance_with_the_cash_account_as_the_other_leg() -> None:
    account = opened()
    account.deposit(1000, "d1", CASH)
    account.withdraw(250, "w1", CASH)
    assert account.balance == 750
    credit, debit = account.collect_events()[-2:]
    assert (credit.counterparty, debit.counterparty) == (CASH, CASH)  # type: ignore[attr-defined]


def test_the_cash_account_may_go_below_zero_and_no_other_may() -> None:
    cash = opened(owner=CASH_OWNER)
    cash.debit(5000, EntryKind.DEPOSIT, "d1", uuid4())
    assert cash.balance == -5000
    with pytest.raises(InsufficientFunds):
        opened(owner="system:merchant").debit(1, EntryKind.TRANSFER, "t", uuid4())


def test_cannot_withdraw_more_than_is_available() -> None:
    account = opened(500)
    with pytest.raises(InsufficientFunds):
        account.withdraw(501, "w1", CASH)
    assert account.balance == 500


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "5"])
def test_amounts_must_be_positive_whole_cents(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        opened().deposit(amount, "d1", CASH)  # type: ignore[arg-type]


def test_a_transfer_debit_and_credit_move_both_accounts() -> None:
    source, destination, transfer = opened(1000), opened(), uuid4()
    source.debit_for_transfer(transfer, 300, destination.id)
    destination.credit_for_transfer(transfer, 300, "EUR", source.id)
    assert (source.balance, destination.balance) == (700, 300)


def test_a_credit_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        opened(currency="USD").credit_for_transfer(uuid4(), 100, "EUR", uuid4())


def test_a_refund_gives_back_the_amount_it_is_told() -> None:
    source, transfer = opened(1000), uuid4()
    source.debit_for_transfer(transfer, 400, uuid4())
    source.refund_transfer(transfer, 400, uuid4())
    assert source.balance == 1000


def test_a_frozen_account_refuses_debits_and_credits_but_accepts_refunds() -> None:
    account, transfer = opened(1000), uuid4()
    account.debit_for_transfer(transfer, 100, uuid4())
    account.freeze("compliance escalation")
    with pytest.raises(AccountFrozen):
        account.withdraw(1, "w1", CASH)
    with pytest.raises(AccountFrozen):
        account.deposit(1, "d1", CASH)
    account.refund_transfer(transfer, 100, uuid4())  # the way back never says no
    assert account.balance == 1000


def test_unfreeze_reopens_and_only_from_frozen() -> None:
    account = opened(100)
    with pytest.raises(InvalidState):
        account.unfreeze()
    account.freeze("check")
    account.unfreeze()
    account.withdraw(100, "w1", CASH)
    assert account.status == AccountStatus.OPEN


def test_close_needs_an_empty_account_and_then_refuses_movements() -> None:
    account = opened(100)
    with pytest.raises(InvalidState):
        account.close()
    account.withdraw(100, "w1", CASH)
    account.close()
    with pytest.raises(AccountClosed):
        account.deposit(1, "d2", CASH)
    with pytest.raises(AccountClosed):
        account.freeze("late")


# --- Held money ----------------------------------------------------------------------------


def test_a_hold_reserves_money_that_debits_and_other_holds_cannot_take() -> None:
    source, destination, hold = opened(1000), opened(), uuid4()
    source.hold_debit(hold, 700, destination.id)
    destination.hold_credit(hold, 700, "EUR", source.id)
    assert (source.balance, source.held, source.available) == (1000, 700, 300)
    assert (destination.balance, destination.incoming, destination.available) == (0, 700, 0)
    with pytest.raises(InsufficientFunds):
        source.withdraw(301, "w1", CASH)
    with pytest.raises(InsufficientFunds):
        source.hold_debit(uuid4(), 301, destination.id)
    source.withdraw(300, "w1", CASH)
    assert source.available == 0


def test_a_captured_hold_posts_what_was_captured_and_releases_the_rest() -> None:
    source, destination, hold = opened(1000), opened(), uuid4()
    source.hold_debit(hold, 700, destination.id)
    destination.hold_credit(hold, 700, "EUR", source.id)
    source.settle_debit_hold(hold, 700, 450, destination.id)
    destination.settle_credit_hold(hold, 700, 450, source.id)
    assert (source.balance, source.held, source.available) == (550, 0, 550)
    assert (destination.balance, destination.incoming) == (450, 0)


def test_a_released_hold_moves_nothing() -> None:
    source, destination, hold = opened(1000), opened(), uuid4()
    source.hold_debit(hold, 700, destination.id)
    destination.hold_credit(hold, 700, "EUR", source.id)
    source.settle_debit_hold(hold, 700, 0, destination.id)
    destination.settle_credit_hold(hold, 700, 0, source.id)
    assert (source.balance, source.held, destination.balance, destination.incoming) == (
        1000,
        0,
        0,
        0,
    )


def test_a_hold_settles_on_a_frozen_account_and_holds_keep_it_from_closing() -> None:
    source, destination, hold = opened(100), opened(), uuid4()
    source.hold_debit(hold, 100, destination.id)
    destination.hold_credit(hold, 100, "EUR", source.id)
    source.freeze("check")  # what was promised before is still settled
    source.settle_debit_hold(hold, 100, 100, destination.id)
    with pytest.raises(InvalidState):
        destination.close()  # it expects money
    destination.settle_credit_hold(hold, 100, 100, source.id)
    assert (source.balance, destination.balance) == (0, 100)


def test_a_frozen_or_foreign_account_is_refused_a_hold() -> None:
    frozen = opened(100)
    frozen.freeze("check")
    with pytest.raises(AccountFrozen):
        frozen.hold_debit(uuid4(), 1, uuid4())
    with pytest.raises(CurrencyMismatch):
        opened(currency="USD").hold_credit(uuid4(), 1, "EUR", uuid4())


# --- Copies and snapshots ------------------------------------------------------------------


def test_a_copy_is_whole_and_independent_of_the_original() -> None:
    """The application hands commands copies of cached accounts: what a command does to its
    copy (and any event it leaves pending) must not reach the cached original."""
    original = opened(1000)
    original.collect_events()
    original.deposit(500, "d1", CASH)  # one event pending on the original

    twin = copy.deepcopy(original)
    assert vars(twin) == vars(original)
    twin.deposit(200, "d2", CASH)
    twin.hold_debit(uuid4(), 100, uuid4())
    twin.freeze("a test")

    assert (original.balance, original.held, original.status) == (1500, 0, AccountStatus.OPEN)
    assert [type(e).__name__ for e in original.collect_events()] == ["Credited"]
    assert len(twin.collect_events()) == 4  # the original's pending credit, and the twin's three


def test_a_snapshot_taken_before_holds_reads_as_an_account_with_nothing_held() -> None:
    """Version 1 kept every reference the account had applied, and nothing held."""
    account_id = uuid4()
    before_holds = Snapshot(
        originator_id=account_id,
        originator_version=3,
        timestamp=datetime.now(UTC),
        topic="ledger.domain:Account",
        state={
            "_created_on": datetime.now(UTC),
            "_modified_on": datetime.now(UTC),
            "owner": "bob",
            "currency": "EUR",
            "balance": 2500,
            "status": "open",
            "applied": {"credit:opening": 3000, "debit:card:0": 500},
        },
    )
    account = before_holds.mutate(None)
    assert isinstance(account, Account)
    assert (account.balance, account.held, account.incoming, account.available) == (
        2500,
        0,
        0,
        2500,
    )
    assert "applied" not in vars(account)
    assert (account.id, account.version) == (account_id, 3)
    again = Snapshot.take(account)
    assert again.state["class_version"] == 2  # a snapshot taken now says which shape it holds
