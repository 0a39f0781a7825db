"""Screen completed transfers as they arrive and raise alerts: the compliance subscriber.

The rules and the alerts are the compliance context's (``compliance/screening.py``); this
command only runs that subscriber on the messaging runtime, like ``run_projections`` does its
projectors.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from compliance.screening import TransferScreening
from messaging.connection import nats_url
from messaging.lifecycle import stop_on_signals
from messaging.runtime import run_subscribers


class Command(BaseCommand):
    help = "Screen completed transfers and raise alerts (--once: what is there, then exit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        url = nats_url()  # NatsNotFound is a CommandError: one line, no traceback

        async def main() -> None:
            subscribers = await run_subscribers(
                [TransferScreening.name], url, once=once, stop=stop_on_signals()
            )
            if once and options["verbosity"] >= 1:
                stats = subscribers[0].stats
                self.stdout.write(
                    f"{TransferScreening.name}: screened {stats.applied}, "
                    f"parked {stats.dead_letters}"
                )

        asyncio.run(main())
