"""``tuning.aggregate_cache``: the library's own cache, fast-forwarded from the store, so another
writer's events are seen on the next read, and a failed command leaves the cache as it was."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledger.application import LedgerApplication
from ledger.domain import InsufficientFunds
from tuning.applications import tuned

CASH = uuid4()  # the cash account's id: the other leg of a deposit or withdrawal

Cached = tuned(LedgerApplication, ["aggregate_cache"])


def test_a_cached_account_is_brought_up_to_date_from_the_store(tmp_path) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "l.db")}
    reader, writer = Cached(env=env), Cached(env=env)  # two processes on one store
    assert reader.repository.cache is not None
    account = writer.open_account("alice", "EUR")
    assert reader.get_account(account.id).balance == 0  # now cached in the reader
    writer.deposit(account.id, 700, "d1")
    assert reader.get_account(account.id).balance == 700


def test_a_refused_command_leaves_the_cache_as_it_was(tmp_path) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "l.db")}
    app = Cached(env=env)
    account = app.open_account("alice", "EUR")
    app.deposit(account.id, 100, "d1")
    copy = app.get_account(account.id)
    copy.deposit(50, "unsaved", CASH)  # changed, never saved
    with pytest.raises(InsufficientFunds):
        app.withdraw(account.id, 120, "w1")
    assert app.get_account(account.id).balance == 100
