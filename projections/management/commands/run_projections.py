"""Keep the projection tables current from NATS: one subscriber per projection, side by side
on one connection, each on the messaging runtime (batches, one transaction with the position)."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.connection import nats_url
from messaging.lifecycle import stop_on_signals
from messaging.runtime import run_subscribers
from projections.projectors import PROJECTORS


class Command(BaseCommand):
    help = "Keep the projections current from NATS (--once: apply what is there, then exit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--projection", action="append", metavar="NAME", help="only these")
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, projection: list[str] | None, once: bool, **options: Any) -> None:
        url = nats_url()  # NatsNotFound is a CommandError: one line, no traceback
        chosen = projection or sorted(PROJECTORS)
        unknown = sorted(set(chosen) - set(PROJECTORS))
        if unknown:
            known = ", ".join(sorted(PROJECTORS))
            raise CommandError(f"unknown projection {', '.join(unknown)} (known: {known})")
        names = [PROJECTORS[p].name for p in chosen]

        async def main() -> None:
            await run_subscribers(names, url, once=once, stop=stop_on_signals())

        asyncio.run(main())
