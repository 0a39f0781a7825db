"""The saga-recovery service (``recover_sagas --every``) skips a round that meets a database
outage, with one warning, and goes on; run once, recovery fails as any command does. (The fault
suite once saw the service exit 1 while PostgreSQL restarted.)"""

from __future__ import annotations

import logging
import threading
from typing import Any

import django.db
import pytest
from eventsourcing.persistence import OperationalError

from ops import recovery

NO_CONTAINER: Any = None  # the rounds here are the fixture's, which need none

OUTAGES = [
    OperationalError("couldn't get a connection after 5.00 sec"),
    django.db.OperationalError("server closed the connection unexpectedly"),
]


@pytest.fixture
def stop() -> threading.Event:
    return threading.Event()


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch, stop: threading.Event) -> list[str]:
    """Rounds whose first two meet the outages; the third recovers one saga and asks the
    service to stop, as its supervisor does with SIGTERM."""
    calls: list[str] = []

    def recover(container: Any, older_than: float, *, dry_run: bool) -> list[Any]:
        calls.append("round")
        if len(calls) <= len(OUTAGES):
            raise OUTAGES[len(calls) - 1]
        stop.set()
        return ["a saga"]

    monkeypatch.setattr(recovery, "recover", recover)
    return calls


def test_a_round_meeting_an_outage_is_skipped(
    rounds: list[str], stop: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[Any] = []
    with caplog.at_level(logging.WARNING, logger=recovery.__name__):
        recovery.keep_recovering(
            lambda: NO_CONTAINER, 0, every=0.01, stop=stop, report=reported.append
        )
    assert len(rounds) == 3 and reported == ["a saga"]
    assert [r.getMessage() for r in caplog.records] == [
        f"recover_sagas: OperationalError: {outage}; trying again in 0.01 s" for outage in OUTAGES
    ]


def test_run_once_it_fails(rounds: list[str], stop: threading.Event) -> None:
    with pytest.raises(OperationalError):
        recovery.keep_recovering(lambda: NO_CONTAINER, 0, every=None, stop=stop)
    assert rounds == ["round"]
