"""The outbox relay: publish every stored event, in order, to JetStream.

One relay task per source (ledger, orders, compliance), each holding its source's lock: start a
second relay and it waits as a standby. SIGTERM finishes the window in hand and stops.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.container import get_container
from messaging.connection import nats_url
from messaging.lifecycle import stop_on_signals
from messaging.runtime import relay_events, when_database_answers


class Command(BaseCommand):
    help = "Publish every stored event, in order, to JetStream (the outbox relay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="publish what is stored now, then exit"
        )

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        url = nats_url()  # NatsNotFound is a CommandError: one line, no traceback

        async def main() -> dict[str, int]:
            stop = stop_on_signals()
            applications = await when_database_answers(
                lambda: get_container().applications, stop, "relay"
            )
            return await relay_events(applications, url, once=once, stop=stop)

        positions = asyncio.run(main())
        if options["verbosity"] >= 1 and once:
            for source, position in positions.items():
                self.stdout.write(f"{source}: published up to position {position}")
