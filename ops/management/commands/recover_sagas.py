"""Finish or compensate every saga a crash left mid-way, and expire the holds past their expiry.

A saga's state is an event-sourced aggregate, so nothing is lost when a process dies between
two steps: this command finds the sagas that started and never ended, and runs each to its
end — forward, or back through its compensations when its deadline has passed. A web request
still running the same saga is harmless: the saga's version lets only one of them record each
step. A hold nobody captured or voided in time is expired here (its money set free).
`run_all` and the compose service run it with --every.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.container import get_container
from ops.recovery import keep_recovering


class Command(BaseCommand):
    help = "Finish or compensate sagas left unfinished, expire holds (once, or --every SECONDS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="only sagas whose last step is at least this old (default 30)",
        )
        parser.add_argument("--every", type=float, metavar="SECONDS", help="repeat until stopped")
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(
        self, *args: Any, older_than: float, every: float | None, dry_run: bool, **options: Any
    ) -> None:
        stop = threading.Event()
        if every:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
        verb = "would resume" if dry_run else "recovered"

        def report(saga: Any) -> None:
            if options["verbosity"] >= 1:
                self.stdout.write(f"{verb} {type(saga).__name__} {saga.id}: {saga.status}")

        keep_recovering(
            get_container, older_than, every=every or None, stop=stop, dry_run=dry_run,
            report=report,
        )  # fmt: skip
