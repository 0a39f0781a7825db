"""The Account aggregate: each guard, and each movement applied once per reference."""

import copy
from uuid import uuid4

import pytest

from ledger.domain import (
    Account,
    AccountClosed,
    AccountFrozen,
    AccountStatus,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidState,
)


def opened(balance: int = 0, currency: str = "EUR") -> Account:
    account = Account(id=uuid4(), owner="alice", currency=currency)
    if balance:
        account.deposit(balance, "opening")
    return account


def test_a_new_account_is_open_and_empty() -> None:
    account = opened()
    assert (account.balance, account.status, account.currency) == (0, AccountStatus.OPEN, "EUR")


def test_deposit_and_withdraw_move_the_balance() -> None:
    account = opened()
    account.deposit(1000, "d1")
    account.withdraw(250, "w1")
    assert account.balance == 750


def test_a_repeated_reference_changes_nothing() -> None:
    account = opened()
    account.deposit(1000, "d1")
    account.deposit(1000, "d1")
    account.withdraw(100, "w1")
    account.withdraw(100, "w1")
    assert account.balance == 900
    assert len(account.collect_events()) == 3  # opened, one credit, one debit


def test_cannot_withdraw_more_than_the_balance() -> None:
    account = opened(500)
    with pytest.raises(InsufficientFunds):
        account.withdraw(501, "w1")
    assert account.balance == 500


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "5"])
def test_amounts_must_be_positive_whole_cents(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        opened().deposit(amount, "d1")  # type: ignore[arg-type]


def test_a_transfer_debit_and_credit_apply_once_per_transfer() -> None:
    source, destination, transfer = opened(1000), opened(), uuid4()
    for _ in range(2):
        source.debit_for_transfer(transfer, 300, destination.id)
        destination.credit_for_transfer(transfer, 300, "EUR", source.id)
    assert (source.balance, destination.balance) == (700, 300)


def test_a_credit_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        opened(currency="USD").credit_for_transfer(uuid4(), 100, "EUR", uuid4())


def test_a_refund_gives_back_exactly_the_debit_once() -> None:
    source, transfer = opened(1000), uuid4()
    source.debit_for_transfer(transfer, 400, uuid4())
    source.refund_transfer(transfer, uuid4())
    source.refund_transfer(transfer, uuid4())
    assert source.balance == 1000


def test_a_refund_of_a_transfer_never_debited_changes_nothing() -> None:
    source = opened(1000)
    source.refund_transfer(uuid4(), uuid4())
    assert source.balance == 1000


def test_a_frozen_account_refuses_debits_and_credits_but_accepts_refunds() -> None:
    account, transfer = opened(1000), uuid4()
    account.debit_for_transfer(transfer, 100, uuid4())
    account.freeze("compliance escalation")
    with pytest.raises(AccountFrozen):
        account.withdraw(1, "w1")
    with pytest.raises(AccountFrozen):
        account.deposit(1, "d1")
    account.refund_transfer(transfer, uuid4())  # the way back never says no
    assert account.balance == 1000


def test_unfreeze_reopens_and_only_from_frozen() -> None:
    account = opened(100)
    with pytest.raises(InvalidState):
        account.unfreeze()
    account.freeze("check")
    account.unfreeze()
    account.withdraw(100, "w1")
    assert account.status == AccountStatus.OPEN


def test_close_needs_an_empty_account_and_then_refuses_movements() -> None:
    account = opened(100)
    with pytest.raises(InvalidState):
        account.close()
    account.withdraw(100, "w1")
    account.close()
    with pytest.raises(AccountClosed):
        account.deposit(1, "d2")
    with pytest.raises(AccountClosed):
        account.freeze("late")


def test_a_copy_is_whole_and_independent_of_the_original() -> None:
    """The application hands commands copies of cached accounts: what a command does to its
    copy (and any event it leaves pending) must not reach the cached original."""
    original = opened(1000)
    original.collect_events()
    original.deposit(500, "d1")  # one event pending on the original

    twin = copy.deepcopy(original)
    assert vars(twin) == vars(original)
    twin.deposit(200, "d2")
    twin.withdraw(100, "w1")
    twin.freeze("a test")

    assert (original.balance, original.status) == (1500, AccountStatus.OPEN)
    assert not original.has_applied("credit", "d2") and not original.has_applied("debit", "w1")
    assert [type(e).__name__ for e in original.collect_events()] == ["Credited"]
    assert len(twin.collect_events()) == 4  # the original's pending credit, and the twin's three
