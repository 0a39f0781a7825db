"""Give a fresh installation demo customers, money, stock, transfers and orders to look at.

``make run`` calls it (through ``run_all``) on a database with no users, so that the API docs,
the admin and the README's curl lines have something to show. Safe to run again: each step
checks whether it is done, and ids are fixed, so a second run creates nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.container import get_container
from ops.demo import DEMO_PASSWORD, DemoSeedError, seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo: customers alice and bob, staff user operator (password "
        f"{DEMO_PASSWORD!r}), funded accounts, products, transfers (one over the large_transfer "
        "threshold) and orders (one cancelled). Idempotent; never run it on a real database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be created; change nothing"
        )

    def handle(self, *args: Any, dry_run: bool, verbosity: int, **options: Any) -> None:
        say = self.stdout.write if verbosity >= 1 else None
        try:
            report = seed_demo(get_container(), dry_run=dry_run, say=say)
        except DemoSeedError as exc:
            raise CommandError(f"the demo could not be seeded: {exc}") from None
        if verbosity >= 2:
            for what in report.present:
                self.stdout.write(f"already there: {what}")
        if verbosity >= 1:
            self.stdout.write(report.summary(dry_run=dry_run))
