"""A subscriber or the relay started while its database is away waits for it, in-process, with
one log line (fault runs caught ``run_subscriber`` and later ``relay_events`` exiting 1: each was
restarted by its supervisor during an outage, and building its applications failed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from messaging import handlers, runtime

NAME = "test:starts-during-an-outage"


@pytest.fixture
def flaky_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A handler whose building fails twice, as an application's does with its database down."""
    monkeypatch.setattr(runtime, "LOCK_RETRY_SECONDS", 0.01)
    calls: list[str] = []

    def build() -> Any:
        calls.append("build")
        if len(calls) < 3:
            raise OperationalError("connection refused")
        return "the handler"

    handlers.register(NAME, build)
    yield calls
    handlers._factories.pop(NAME)


def test_a_start_during_an_outage_waits_for_the_database(
    flaky_factory: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="messaging.runtime"):
        built = asyncio.run(runtime.started_handler(NAME, asyncio.Event()))
    assert built == "the handler" and len(flaky_factory) == 3
    assert [r.getMessage() for r in caplog.records] == [
        f"subscriber {NAME}: OperationalError: connection refused; starting when its database "
        "answers"
    ]


def test_asked_to_stop_meanwhile_it_gives_up(flaky_factory: list[str]) -> None:
    stop = asyncio.Event()
    stop.set()
    with pytest.raises(OperationalError):
        asyncio.run(runtime.started_handler(NAME, stop))


def test_the_relay_started_during_an_outage_waits_for_its_applications(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "LOCK_RETRY_SECONDS", 0.01)
    tries: list[str] = []

    def applications() -> dict[str, str]:
        tries.append("build")
        if len(tries) < 3:
            raise OperationalError("couldn't get a connection after 5.00 sec")
        return {"ledger": "the ledger"}

    with caplog.at_level(logging.WARNING, logger="messaging.runtime"):
        built = asyncio.run(runtime.when_database_answers(applications, asyncio.Event(), "relay"))
    assert built == {"ledger": "the ledger"} and len(tries) == 3
    assert [r.getMessage() for r in caplog.records] == [
        "relay: OperationalError: couldn't get a connection after 5.00 sec; starting when its "
        "database answers"
    ]
