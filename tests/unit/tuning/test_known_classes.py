"""``tuning.known_classes``: the library's ``save`` step for step, with the library's aggregates
collected without protocol checks, and anything else on the library's own path."""

from __future__ import annotations

import inspect
import textwrap
import typing
from collections.abc import Callable
from uuid import uuid4

import pytest
from eventsourcing.application import Application

from ledger.application import LedgerApplication
from tests.unit.conftest import IN_MEMORY
from tuning.applications import tuned
from tuning.known_classes import KnownClasses

CASH = uuid4()  # the cash account's id: the other leg of a deposit or withdrawal


def body(function: object) -> list[str]:
    """A function's statements: no signature, docstring, comments or blank lines."""
    source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
    statements = source.split('"""')[-1] if '"""' in source else source.split(":\n", 1)[1]
    code = (line.split("#")[0].strip() for line in statements.splitlines())
    return [line for line in code if line]


def test_save_is_the_librarys_save_with_its_own_processing_event() -> None:
    library = body(Application.save)
    ours = body(KnownClasses.save)
    assert ours[0] == "processing_event = KnownClassesProcessingEvent()"
    assert library[0].endswith("= ProcessingEvent()")
    assert ours[1:] == library[1:], "the library's save changed: compare it with known_classes"


def saved_history(app: LedgerApplication) -> list[tuple[str, int]]:
    account = app.open_account("alice", "EUR")
    account.deposit(250, "d1", CASH)
    account.withdraw(100, "w1", CASH)
    app.save(account, None)
    return [(type(e).__name__, e.originator_version) for e in app.stored_events(account.id)]


def test_an_aggregate_is_saved_as_the_library_saves_it() -> None:
    library = saved_history(LedgerApplication(env=IN_MEMORY))
    ours = saved_history(tuned(LedgerApplication, ["known_classes"])(env=IN_MEMORY))
    assert ours == library
    assert [name for name, _ in ours] == ["Opened", "Credited", "Debited"]


def test_the_librarys_aggregates_are_not_asked_for_their_protocols(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = tuned(LedgerApplication, ["known_classes"])(env=IN_MEMORY)
    account = app.open_account("alice", "EUR")
    account.deposit(1, "d1", CASH)
    checked: list[type] = []
    protocol_check: Callable[..., bool] = type(typing.Protocol).__instancecheck__

    def counting(cls: type, instance: object) -> bool:
        checked.append(cls)
        return protocol_check(cls, instance)

    monkeypatch.setattr(type(typing.Protocol), "__instancecheck__", counting)
    app.save(account)
    assert checked == []
    assert app.load(account.id).balance == 1


def test_an_event_saved_on_its_own_takes_the_librarys_path() -> None:
    app = tuned(LedgerApplication, ["known_classes"])(env=IN_MEMORY)
    account = app.open_account("alice", "EUR")
    account.deposit(7, "d1", CASH)
    events = account.collect_events()
    app.save(*events)
    assert app.load(account.id).balance == 7
