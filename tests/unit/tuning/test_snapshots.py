"""``tuning.snapshots``: snapshots taken from the aggregate just saved are the library's: the same
versions, the same state, with no read of the aggregate back."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.application import LedgerApplication
from tests.unit.conftest import IN_MEMORY
from tuning.applications import tuned


def snapshots_after_deposits(app: LedgerApplication, count: int) -> list[tuple[int, Any]]:
    account = app.open_account("alice", "EUR")
    for n in range(count):
        account.deposit(100, f"d{n}")
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
        account.deposit(1, f"d{n}")
    app.save(account)
    account.deposit(1, "the 100th event")
    monkeypatch.setattr(app.repository, "get", pytest.fail)
    app.save(account)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(account.id)] == [100]
