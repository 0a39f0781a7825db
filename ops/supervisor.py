"""A small process supervisor for ``run_all``: start children, restart the ones that die,
stop them all on Ctrl-C or SIGTERM.

In production each child is its own service (see docker-compose.yml) and the platform
supervises; this exists so that ``make run`` is one command on a laptop.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# Signals a process does not raise on itself: something outside ended it (an operator, the OOM
# killer, a chaos test). SIGSEGV, SIGABRT and the like are the process's own crash.
OUTSIDE_SIGNALS = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def killed_from_outside(returncode: int | None) -> bool:
    """Whether a process with this return code (``Popen``'s, or ``multiprocessing``'s exit code:
    minus the signal that ended it) was ended by a signal from outside."""
    return returncode is not None and returncode < 0 and -returncode in OUTSIDE_SIGNALS


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
        child.process = subprocess.Popen(list(child.argv), env=self.env)
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
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + grace
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {grace:.0f}s; killing it")
                child.process.kill()
                child.process.wait()
        self.say("all stopped")
