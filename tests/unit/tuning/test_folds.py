"""``tuning.folds``: the tuned repository folds what the library's folds, without its protocol
assert."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from eventsourcing.domain import CanMutateProtocol

from ledger.application import LedgerApplication
from tests.unit.conftest import IN_MEMORY
from tuning.applications import tuned


def history(app: LedgerApplication) -> Any:
    account = app.open_account("alice", "EUR")
    for n in range(5):
        account.deposit(100 + n, f"d{n}")
    account.freeze("check")
    app.save(account)
    return vars(app.get_account(account.id))


def test_it_folds_what_the_library_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []
    meta: Any = typing._ProtocolMeta
    check = meta.__instancecheck__

    def counting(cls: type, instance: object) -> bool:
        if cls is CanMutateProtocol:
            asked.append(instance)
        return bool(check(cls, instance))

    monkeypatch.setattr(meta, "__instancecheck__", counting)
    tuned_state = history(tuned(LedgerApplication, ["folds"])(env=IN_MEMORY))
    assert asked == []
    library_state = history(LedgerApplication(env=IN_MEMORY))
    assert asked  # the library's fold is seen asking
    assert {
        k: v for k, v in tuned_state.items() if k not in ("_id", "_created_on", "_modified_on")
    } == {k: v for k, v in library_state.items() if k not in ("_id", "_created_on", "_modified_on")}
