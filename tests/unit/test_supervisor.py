"""run_all's restart policy: a healthy child killed from outside restarts at once; a child that
fails on its own waits, longer with each failure in a row."""

from __future__ import annotations

import signal

import pytest

from ops.supervisor import Child, Supervisor, killed_from_outside

KILLED = -signal.SIGKILL


def delays(ends: list[tuple[int, float]]) -> list[float]:
    """The waits before each restart of one child that ended so: (return code, seconds run)."""
    supervisor, child = Supervisor([], {}), Child("relay", ["relay_events"])
    return [supervisor.restart_delay(child, code, ran_for) for code, ran_for in ends]


def test_a_healthy_child_killed_again_and_again_restarts_at_once_every_time() -> None:
    assert delays([(KILLED, 5.0)] * 6) == [0.0] * 6


@pytest.mark.parametrize("code", [1, 0, -signal.SIGSEGV, -signal.SIGABRT])
def test_a_child_that_ends_on_its_own_waits_twice_as_long_each_time_it_fails(code: int) -> None:
    assert delays([(code, 5.0)] * 7) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_kill_before_the_child_has_started_is_a_failure() -> None:
    early = Supervisor.healthy_after / 2
    assert delays([(KILLED, early), (KILLED, early), (KILLED, 5.0)]) == [1.0, 2.0, 0.0]


def test_kills_between_failures_neither_count_nor_forgive_them() -> None:
    assert delays([(1, 5.0), (KILLED, 5.0), (1, 5.0)]) == [1.0, 0.0, 2.0]


def test_a_child_that_ran_long_before_failing_starts_its_count_again() -> None:
    stable = Supervisor.stable_after
    assert delays([(1, 5.0), (1, 5.0), (1, stable), (1, 5.0)]) == [1.0, 2.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("code", "outside"),
    [
        (-signal.SIGKILL, True),
        (-signal.SIGTERM, True),
        (-signal.SIGINT, True),
        (-signal.SIGHUP, True),
        (-signal.SIGSEGV, False),
        (-signal.SIGABRT, False),
        (0, False),
        (1, False),
        (None, False),
    ],
)
def test_which_ends_come_from_outside(code: int | None, outside: bool) -> None:
    assert killed_from_outside(code) is outside
