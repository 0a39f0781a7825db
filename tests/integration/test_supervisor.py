"""run_all's supervisor with real children: a healthy child SIGKILLed again and again is back
each time at once; a child that fails on its own is restarted later each time."""

from __future__ import annotations

import itertools
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from ops.supervisor import Child, Supervisor
from tests.support import wait_for

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
FAILER = [sys.executable, "-c", "raise SystemExit(3)"]


class Watched:
    """A supervisor running in a thread, and what it said, each line with when it said it."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.lines: list[tuple[float, str]] = []
        supervisor.say = lambda message: self.lines.append((time.monotonic(), message))
        self.thread = threading.Thread(target=supervisor.run, kwargs={"poll_interval": 0.05})

    def start(self, n: int) -> tuple[float, int]:
        """The ``n``th start (from 0), when it comes."""
        return wait_for(lambda: self.starts()[n:], timeout=30, what=f"start {n}")[0]

    def starts(self) -> list[tuple[float, int]]:
        """When each child was started, and its pid."""
        return [
            (at, int(found[1]))
            for at, line in list(self.lines)
            if (found := re.match(r"started \S+ \(pid (\d+)\)", line))
        ]


@pytest.fixture
def supervise() -> Iterator[Callable[..., Watched]]:
    running: list[Watched] = []

    def start(*children: Child, **policy: float) -> Watched:
        supervisor = Supervisor(children, dict(os.environ))
        for name, value in policy.items():
            setattr(supervisor, name, value)
        watched = Watched(supervisor)
        watched.thread.start()
        running.append(watched)
        return watched

    yield start
    for watched in running:
        watched.supervisor.request_stop()
        watched.thread.join(30)


def ran_for(started_at: float, seconds: float) -> bool:
    return time.monotonic() - started_at >= seconds


def test_a_healthy_child_killed_four_times_in_a_row_is_back_each_time_at_once(
    supervise: Callable[..., Watched],
) -> None:
    """A relay killed a few times in a row once waited 1, 2, 4, 8 s to come back, and its
    events as long to reach NATS."""
    watched = supervise(Child("relay", SLEEPER), healthy_after=0.5)
    for kill in range(4):
        started_at, pid = watched.start(kill)
        wait_for(
            partial(ran_for, started_at, watched.supervisor.healthy_after),
            what="the child to have run healthily",
        )
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        restarted_at, _ = watched.start(kill + 1)
        assert restarted_at - killed_at < 0.5, (
            f"kill {kill + 1}: back after {restarted_at - killed_at:.1f} s"
        )
    assert any("exited with -9" in line and "restarting now" in line for _, line in watched.lines)


def test_a_child_that_fails_on_its_own_waits_twice_as_long_each_time(
    supervise: Callable[..., Watched],
) -> None:
    watched = supervise(Child("broken", FAILER), min_backoff=0.2)
    starts = [watched.start(n)[0] for n in range(4)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= wait for gap, wait in zip(gaps, [0.2, 0.4, 0.8], strict=True)), gaps
    assert any(
        "exited with 3" in line and "restarting in 0.2s" in line for _, line in watched.lines
    )
