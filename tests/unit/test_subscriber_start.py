"""A subscriber started while its database is away waits for it, in-process, with one log line
(a fault run once caught ``run_subscriber`` exiting 1: it was restarted during an outage)."""

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
