"""``tuning.snapshots``: snapshots taken from the aggregate just saved are the library's: the same
versions, the same state, with no read of the aggregate back."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from ledger.application import LedgerApplication
from tests.unit.conftest import IN_MEMORY
from tuning.applications import tuned

CASH = uuid4()  # the cash account's id: the other leg of a deposit or withdrawal


def snapshots_after_deposits(app: LedgerApplication, count: int) -> list[tuple[int, Any]]:
    account = app.open_account("alice", "EUR")
    for n in range(count):
        account.deposit(100, f"d{n}", CASH)
        app.save(account)
    assert app.snapshots is not None
    snapshots: list[Any] = list(app.snapshots.get(account.id))
    return [(s.originator_version, s.state["balance"]) for s in snapshots]


def test_the_same_snapshots_as_the_librarys() -> None:
    library = snapshots_after_deposits(LedgerApplication(env=IN_MEMORY), 250)
    ours = snapshots_after_deposits(tuned(LedgerApplication, ["snapshots"])(env=IN_MEMORY), 250)
    assert ours == library == [(100, 9_900), (200, 19_900)]


def test_no_aggregate_is_read_back_to_be_snapshotted(monkeypatch: pytest.MonkeyPatch) -> None:
    app = tuned(LedgerApplication, ["snapshots"])(env=IN_MEMORY)
    account = app.open_account("alice", "EUR")
    for n in range(98):
        account.deposit(1, f"d{n}", CASH)
    app.save(account)
    account.deposit(1, "the 100th event", CASH)
    monkeypatch.setattr(app.repository, "get", pytest.fail)
    app.save(account)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(account.id)] == [100]


def test_an_aggregate_that_passes_two_multiples_in_one_save_is_snapshotted_once() -> None:
    """A batch can move one account past two multiples of its interval in one round: its
    saved state is one version, so one snapshot of it, and the save does not fail."""
    app = tuned(LedgerApplication, ["snapshots"])(env=IN_MEMORY)
    account = app.open_account("alice", "EUR")
    for n in range(250):
        account.deposit(1, f"d{n}", CASH)
    app.save(account)
    assert app.snapshots is not None
    snapshots: list[Any] = list(app.snapshots.get(account.id))
    assert [(s.originator_version, s.state["balance"]) for s in snapshots] == [(251, 250)]


def test_the_snapshots_of_one_save_are_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    app = tuned(LedgerApplication, ["snapshots"])(env=IN_MEMORY)
    accounts = [app.open_account(owner, "EUR") for owner in ("alice", "bob", "carol")]
    for account in accounts:
        for n in range(99):
            account.deposit(1, f"d{n}", CASH)
    assert app.snapshots is not None
    writes: list[int] = []
    put = app.snapshots.put

    def counted_put(events: list[Any], **kwargs: Any) -> Any:
        writes.append(len(events))
        return put(events, **kwargs)

    monkeypatch.setattr(app.snapshots, "put", counted_put)
    app.save(*accounts)
    assert writes == [3]
    assert all([s.originator_version for s in app.snapshots.get(a.id)] == [100] for a in accounts)
