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


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)


class Supervisor:
    min_backoff, max_backoff = 1.0, 30.0
    stable_after = 30.0  # a child that ran this long restarts without accumulated backoff

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
            if ran_for >= self.stable_after:
                child.restarts = 0
            backoff = min(self.min_backoff * 2**child.restarts, self.max_backoff)
            child.restarts += 1
            child.next_start = now + backoff
            child.process = None
            self.say(
                f"{child.name} exited with {code} after {ran_for:.1f}s; "
                f"restarting in {backoff:.0f}s"
            )
        if now >= child.next_start:
            self._start(child)

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
