"""A small process supervisor for ``run_all``: start children, restart the ones that die,
stop them all on Ctrl-C or SIGTERM.

In production each child is its own service (see docker-compose.yml) and the platform
supervises; this exists so that ``make run`` is one command on a laptop.

**Only the supervisor hears Ctrl-C.** A terminal sends SIGINT to its whole foreground process
group at once; had the children stayed in it, the embedded nats-server would die at the same
instant as the subscribers draining into it, and every one of them would print its own end.
So each child starts in a session of its own (``supervised``), and the supervisor stops them:
the services first, all at once, then what they need (``run_all`` stops NATS last). On Linux a
child is also killed when the supervisor dies, so a supervisor killed with SIGKILL leaves no
orphan holding the port or the store.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Signals a process does not raise on itself: something outside ended it (an operator, the OOM
# killer, a chaos test). SIGSEGV, SIGABRT and the like are the process's own crash.
OUTSIDE_SIGNALS = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def killed_from_outside(returncode: int | None) -> bool:
    """Whether a process with this return code (``Popen``'s, or ``multiprocessing``'s exit code:
    minus the signal that ended it) was ended by a signal from outside."""
    return returncode is not None and returncode < 0 and -returncode in OUTSIDE_SIGNALS


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process receives when its parent dies
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def supervised() -> dict[str, Any]:
    """``subprocess.Popen`` options for a child of this process: a session of its own (no
    terminal's Ctrl-C reaches it) and, on Linux, death with this process."""
    if _prctl is None:
        return {"start_new_session": True}
    parent = os.getpid()

    def die_with_parent() -> None:  # runs in the child, between fork and exec
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the wish was made
            os.kill(os.getpid(), signal.SIGKILL)

    return {"start_new_session": True, "preexec_fn": die_with_parent}


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    failures: int = 0  # failures in a row, each doubling the wait before the next start
    next_start: float = 0.0
    started_at: float = field(default=0.0)


class Supervisor:
    """Runs the children, and restarts each one that ends, by this policy:

    - A child that ran ``healthy_after`` seconds and was then killed by a signal from outside
      (``OUTSIDE_SIGNALS``) restarts at once: nothing says it would fail again, and everything
      waiting on it (a relay's events, a projection) waits only as long as it takes to start.
    - Any other end is a failure: an exit, whatever its code; a crash by a signal of its own
      (SIGSEGV, SIGABRT); a kill before it had run ``healthy_after`` seconds. A failing child
      restarts after ``min_backoff`` seconds, doubled for each failure in a row up to
      ``max_backoff``, so one that cannot start (its database is gone, its code is broken)
      does not spin. The count starts again once a child has run ``stable_after`` seconds.
    """

    min_backoff, max_backoff = 1.0, 30.0
    healthy_after = 2.0  # long enough to have started: a kill after this is not a crash loop
    stable_after = 30.0  # a child that ran this long fails afresh, without earlier failures

    def __init__(
        self,
        children: Sequence[Child],
        env: Mapping[str, str],
        say: Callable[[str], None] = print,
    ):
        self.children = list(children)
        self.env = dict(env)
        self.say = lambda message: say(f"[run_all] {message}")
        self.stopping = threading.Event()

    def request_stop(self, signum: int = signal.SIGTERM, frame: object = None) -> None:
        self.stopping.set()

    def run(self, poll_interval: float = 0.2) -> None:
        """Run until asked to stop; then stop every child, politely first."""
        for child in self.children:
            self._start(child)
        while not self.stopping.wait(poll_interval):
            for child in self.children:
                self._watch(child)
        self.stop_all()

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(list(child.argv), env=self.env, **supervised())
        child.started_at = time.monotonic()
        self.say(f"started {child.name} (pid {child.process.pid})")

    def _watch(self, child: Child) -> None:
        now = time.monotonic()
        if child.process is not None:
            code = child.process.poll()
            if code is None:
                return
            ran_for = now - child.started_at
            delay = self.restart_delay(child, code, ran_for)
            child.next_start = now + delay
            self.say(
                f"{child.name} (pid {child.process.pid}) exited with {code} after {ran_for:.1f}s; "
                + (f"restarting in {delay:g}s" if delay else "restarting now")
            )
            child.process = None
        if now >= child.next_start:
            self._start(child)

    def restart_delay(self, child: Child, code: int, ran_for: float) -> float:
        """How long ``child``, ended with ``code`` after ``ran_for`` seconds, waits before it
        starts again (the policy in the class docstring); counts its failures in a row."""
        if ran_for >= self.stable_after:
            child.failures = 0
        if killed_from_outside(code) and ran_for >= self.healthy_after:
            return 0.0
        delay = min(self.min_backoff * 2**child.failures, self.max_backoff)
        child.failures += 1
        return delay

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM to every running child at once, then one line for each as it ends; a child
        still running after ``grace`` seconds is killed."""
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        started = time.monotonic()
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = started + grace
        for child in running:
            assert child.process is not None
            try:
                code = child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
                self.say(f"{child.name} did not stop in {grace:g}s: killed")
                continue
            ended = "stopped" if code in (0, -signal.SIGTERM) else f"stopped with {code}"
            self.say(f"{child.name} {ended} ({time.monotonic() - started:.1f}s)")
