"""``EventSourcedApplication.save`` is the library's ``Application.save``: it stores what the
library stores, in one call, and notes in the correlation scope the position it wrote."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application

from kernel.correlation import correlation_scope
from ledger.application import LedgerApplication
from ledger.domain import Account
from tests.unit.conftest import IN_MEMORY

CASH = uuid4()  # the cash account's id: the other leg of a deposit or withdrawal


def saved_by(save: Any) -> list[tuple[Any, ...]]:
    """Open an account; save a deposit into it, a bare event of another account, and nothing
    (None), in one call; then a freeze. What the log holds: whose, which version, what."""
    app = LedgerApplication(env=IN_MEMORY)
    account = app.open_account("alice", "EUR")
    account.deposit(500, "seed", CASH)
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
    ours = saved_by(LedgerApplication.save)
    assert ours == saved_by(Application.save)
    assert [(who, version) for who, version, _ in ours] == [
        ("alice", 1), ("alice", 2), ("bob", 1), ("alice", 3)
    ]  # fmt: skip


def test_an_aggregates_saved_events_are_no_longer_pending(ledger: LedgerApplication) -> None:
    account = ledger.open_account("alice", "EUR")
    account.deposit(100, "seed", CASH)
    ledger.save(account)
    assert ledger.save(account) == []
    assert ledger.get_account(account.id).balance == 100


def test_the_position_written_is_noted_in_the_scope(ledger: LedgerApplication) -> None:
    other = ledger.open_account("bob", "EUR")
    with correlation_scope() as scope:
        account = ledger.open_account("alice", "EUR")
        account.deposit(100, "seed", CASH)
        ledger.save(account)
        assert ledger.position_written() == scope.written["ledger"] == 3
    ledger.deposit(other.id, 1, "later")  # outside the scope: the log's head
    assert ledger.position_written() == ledger.max_position() > 3
