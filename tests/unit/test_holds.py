"""Holds and cash movements through the ledger's use cases: each move saved with both legs, a
hold resolved once, and money conserved — for each currency, every account's posted balance
sums to zero, and what is held on sources is what is expected by destinations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import LedgerApplication
from ledger.domain import (
    Account,
    AccountFrozen,
    CashKind,
    CurrencyMismatch,
    HoldNotFound,
    InsufficientFunds,
    InvalidAmount,
    InvalidState,
    SameAccount,
)
from ledger.holds import HoldStatus
from tests.unit.conftest import IN_MEMORY

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def funded(ledger: LedgerApplication, cents: int, currency: str = "EUR") -> Account:
    account = ledger.open_account("alice", currency)
    if cents:
        ledger.deposit(account.id, cents, f"opening-{account.id}")
    return ledger.get_account(account.id)


def books(ledger: LedgerApplication, *accounts: Account) -> tuple[int, int, int]:
    """(Σ posted, Σ held, Σ incoming) over these accounts and the cash account, as stored."""
    stored = [ledger.get_account(a.id) for a in accounts]
    stored.append(ledger.cash_account("EUR"))
    return (
        sum(a.balance for a in stored),
        sum(a.held for a in stored),
        sum(a.incoming for a in stored),
    )


# --- Cash in and out ------------------------------------------------------------------------


def test_a_deposit_is_two_legs_and_one_record(ledger: LedgerApplication) -> None:
    account = funded(ledger, 0)
    ledger.deposit(account.id, 1_000, "salary")
    assert ledger.get_account(account.id).balance == 1_000
    assert ledger.cash_account("EUR").balance == -1_000
    movement = ledger.find_cash_movement(CashKind.DEPOSIT, account.id, "salary")
    assert movement is not None and (movement.amount, movement.account) == (1_000, account.id)


def test_a_deposit_or_withdrawal_offered_again_moves_nothing(ledger: LedgerApplication) -> None:
    account = funded(ledger, 0)
    for _ in range(3):
        ledger.deposit(account.id, 1_000, "salary")
        ledger.withdraw(account.id, 300, "rent")
    assert ledger.get_account(account.id).balance == 700
    assert books(ledger, account) == (0, 0, 0)


def test_the_system_accounts_take_no_cash_and_the_cash_account_no_transfer(
    ledger: LedgerApplication,
) -> None:
    account = funded(ledger, 500)
    cash = ledger.cash_account("EUR")
    with pytest.raises(InvalidState):
        ledger.deposit(cash.id, 1, "more")
    with pytest.raises(InvalidState):
        ledger.transfer_funds(cash.id, account.id, 1)
    with pytest.raises(InvalidState):
        ledger.place_hold(account.id, cash.id, 1)


# --- Holds ------------------------------------------------------------------------------------


def test_a_placed_hold_reserves_the_money_and_stores_both_sides(ledger: LedgerApplication) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    hold = ledger.place_hold(source.id, destination.id, 600, reference="deposit", now=NOW)
    assert (hold.status, hold.amount, hold.expires_at) == ("pending", 600, NOW + timedelta(days=7))
    stored_source, stored_destination = (ledger.get_account(a.id) for a in (source, destination))
    assert (stored_source.balance, stored_source.held, stored_source.available) == (1000, 600, 400)
    assert (stored_destination.balance, stored_destination.incoming) == (0, 600)
    assert ledger.get_hold(hold.id).status == HoldStatus.PENDING
    assert books(ledger, source, destination) == (0, 600, 600)


def test_a_hold_is_refused_as_a_debit_and_a_credit_would_be(ledger: LedgerApplication) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    with pytest.raises(InsufficientFunds):
        ledger.place_hold(source.id, destination.id, 1_001)
    ledger.place_hold(source.id, destination.id, 900)
    with pytest.raises(InsufficientFunds):  # against what is available, not what is posted
        ledger.place_hold(source.id, destination.id, 101)
    with pytest.raises(InsufficientFunds):
        ledger.withdraw(source.id, 101, "w")
    with pytest.raises(SameAccount):
        ledger.place_hold(source.id, source.id, 1)
    with pytest.raises(CurrencyMismatch):
        ledger.place_hold(source.id, funded(ledger, 0, "USD").id, 1)
    ledger.freeze_account(destination.id, "check")
    with pytest.raises(AccountFrozen):
        ledger.place_hold(source.id, destination.id, 1)
    assert ledger.get_account(source.id).held == 900  # the refused holds stored nothing


def test_a_capture_posts_part_and_releases_the_rest_and_answers_again_as_it_did(
    ledger: LedgerApplication,
) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    hold = ledger.place_hold(source.id, destination.id, 600)
    captured = ledger.capture_hold(hold.id, 250)
    assert (captured.status, captured.captured) == ("captured", 250)
    again = ledger.capture_hold(hold.id, 600)  # a repeat answers the first capture
    assert (again.status, again.captured, again.version) == ("captured", 250, captured.version)
    s, d = ledger.get_account(source.id), ledger.get_account(destination.id)
    assert (s.balance, s.held, d.balance, d.incoming) == (750, 0, 250, 0)
    assert books(ledger, source, destination) == (0, 0, 0)
    with pytest.raises(InvalidState):
        ledger.void_hold(hold.id)


def test_a_void_releases_everything_once(ledger: LedgerApplication) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    hold = ledger.place_hold(source.id, destination.id, 600)
    voided = ledger.void_hold(hold.id)
    assert ledger.void_hold(hold.id).version == voided.version
    s, d = ledger.get_account(source.id), ledger.get_account(destination.id)
    assert (s.balance, s.held, d.balance, d.incoming) == (1000, 0, 0, 0)
    with pytest.raises(InvalidState):
        ledger.capture_hold(hold.id)


@pytest.mark.parametrize("amount", [0, 601, -5])
def test_a_capture_takes_from_a_cent_up_to_what_is_held(
    ledger: LedgerApplication, amount: int
) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    hold = ledger.place_hold(source.id, destination.id, 600)
    with pytest.raises(InvalidAmount):
        ledger.capture_hold(hold.id, amount)
    assert ledger.get_hold(hold.id).status == HoldStatus.PENDING


def test_a_hold_past_its_expiry_expires_and_is_then_neither_captured_nor_voided(
    ledger: LedgerApplication,
) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    hold = ledger.place_hold(source.id, destination.id, 600, expires_in=60, now=NOW)
    assert ledger.expire_holds(now=NOW + timedelta(seconds=59)) == []
    with pytest.raises(InvalidState):  # found past its expiry: expired, then refused
        ledger.capture_hold(hold.id, now=NOW + timedelta(seconds=61))
    assert ledger.get_hold(hold.id).status == HoldStatus.EXPIRED
    assert ledger.get_account(source.id).held == 0
    with pytest.raises(InvalidState):
        ledger.void_hold(hold.id, now=NOW + timedelta(seconds=62))
    assert ledger.pending_hold_ids() == []


def test_the_recovery_loop_expires_what_is_due_and_nothing_else(ledger: LedgerApplication) -> None:
    source, destination = funded(ledger, 1_000), funded(ledger, 0)
    due = ledger.place_hold(source.id, destination.id, 100, expires_in=10, now=NOW)
    later = ledger.place_hold(source.id, destination.id, 100, expires_in=1_000, now=NOW)
    captured = ledger.place_hold(source.id, destination.id, 100, expires_in=10, now=NOW)
    ledger.capture_hold(captured.id, now=NOW)
    expired = ledger.expire_holds(now=NOW + timedelta(seconds=11))
    assert [h.id for h in expired] == [due.id]
    assert ledger.pending_hold_ids() == [later.id]
    assert ledger.get_account(source.id).held == 100


def test_a_hold_placed_again_with_its_id_is_the_same_hold(ledger: LedgerApplication) -> None:
    source, destination, hold_id = funded(ledger, 1_000), funded(ledger, 0), uuid4()
    first = ledger.place_hold(source.id, destination.id, 600, hold_id=hold_id)
    again = ledger.place_hold(source.id, destination.id, 600, hold_id=hold_id)
    assert (again.id, again.version) == (first.id, first.version)
    assert ledger.get_account(source.id).held == 600


def test_an_unknown_hold_is_not_found(ledger: LedgerApplication) -> None:
    with pytest.raises(HoldNotFound):
        ledger.capture_hold(uuid4())


# --- The books balance, whatever happens ----------------------------------------------------

moves = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "withdraw", "transfer", "hold", "capture", "void", "expire"]),
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(1, 600),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(moves)
def test_posted_money_sums_to_zero_and_held_money_to_expected(
    steps: list[tuple[str, int, int, int]],
) -> None:
    ledger = LedgerApplication(env=IN_MEMORY)
    accounts = [ledger.open_account(f"c{n}", "EUR") for n in range(3)]
    holds = []
    for n, (move, a, b, cents) in enumerate(steps):
        source, destination = accounts[a], accounts[b]
        try:
            if move == "deposit":
                ledger.deposit(source.id, cents, f"d{n}")
            elif move == "withdraw":
                ledger.withdraw(source.id, cents, f"w{n}")
            elif move == "transfer":
                ledger.transfer_funds(source.id, destination.id, cents)
            elif move == "hold":
                holds.append(ledger.place_hold(source.id, destination.id, cents, now=NOW).id)
            elif holds and move == "capture":
                ledger.capture_hold(holds[cents % len(holds)], min(cents, 50), now=NOW)
            elif holds and move == "void":
                ledger.void_hold(holds[cents % len(holds)], now=NOW)
            elif move == "expire":
                ledger.expire_holds(now=NOW + timedelta(days=8))
        except (InsufficientFunds, SameAccount, InvalidState, InvalidAmount):
            pass
        posted, held, incoming = books(ledger, *accounts)
        assert posted == 0
        assert held == incoming
        assert all(ledger.get_account(x.id).available >= 0 for x in accounts)
    pending = set(ledger.pending_hold_ids())
    assert sum(ledger.get_hold(h).amount for h in pending) == books(ledger, *accounts)[1]
