"""``tuning.saves``: the tuned save stores what the library's ``Application.save`` stores, without
asking a runtime-checkable protocol about each object it is given."""

from __future__ import annotations

import typing
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import CollectEventsProtocol, DomainEventProtocol

from ledger.application import LedgerApplication
from ledger.domain import Account
from tests.unit.conftest import IN_MEMORY
from tuning.applications import tuned

TunedLedger = tuned(LedgerApplication, ["saves"])


@pytest.fixture
def ledger() -> LedgerApplication:
    return TunedLedger(env=IN_MEMORY)


def saved_by(save: Any) -> list[tuple[Any, ...]]:
    """Open an account; save a deposit into it, a bare event of another account, and nothing
    (None), in one call; then a freeze. What the log holds: whose, which version, what."""
    app = TunedLedger(env=IN_MEMORY)
    account = app.open_account("alice", "EUR")
    account.deposit(500, "seed")
    other = Account(id=UUID(int=1), owner="bob", currency="EUR")
    (bare_event,) = other.collect_events()
    recordings = save(app, account, None, bare_event)
    assert [r.notification.id for r in recordings] == [2, 3]
    account.freeze("checks")
    save(app, account)
    assert app.get_account(account.id).status == "frozen"
    assert app.get_account(other.id).owner == "bob"
    names: dict[Any, str] = {account.id: "alice", other.id: "bob"}
    return [
        (names[n.originator_id], n.originator_version, n.topic.rsplit(".", 1)[-1])
        for n in app.notifications_after(0, 100)
    ]


def test_it_stores_what_the_librarys_save_stores() -> None:
    ours = saved_by(TunedLedger.save)
    assert ours == saved_by(Application.save)
    assert [(who, version) for who, version, _ in ours] == [
        ("alice", 1), ("alice", 2), ("bob", 1), ("alice", 3)
    ]  # fmt: skip


def test_an_aggregates_saved_events_are_no_longer_pending(ledger: LedgerApplication) -> None:
    account = ledger.open_account("alice", "EUR")
    account.deposit(100, "seed")
    ledger.save(account)
    assert ledger.save(account) == []
    assert ledger.get_account(account.id).balance == 100


@pytest.fixture
def protocol_checks(monkeypatch: pytest.MonkeyPatch) -> list[type]:
    """Every ``isinstance`` asked of the library's event or collecting protocol."""
    asked: list[type] = []
    meta: Any = typing._ProtocolMeta
    check = meta.__instancecheck__

    def counting(cls: type, instance: object) -> bool:
        if cls in (DomainEventProtocol, CollectEventsProtocol):
            asked.append(cls)
        return bool(check(cls, instance))

    monkeypatch.setattr(meta, "__instancecheck__", counting)
    return asked


def test_it_asks_no_runtime_protocol(
    ledger: LedgerApplication, protocol_checks: list[type]
) -> None:
    account = ledger.open_account("alice", "EUR")
    account.deposit(100, "seed")
    protocol_checks.clear()
    ledger.save(account)
    assert protocol_checks == []
    Application.save(ledger, ledger.get_account(account.id))
    assert protocol_checks  # the library's own save is seen asking
