"""Run one subscriber by name on the messaging runtime — the loop `run_projections` and
`run_compliance` use — optionally replaying from a stream sequence or a time first."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.container import get_container
from messaging.connection import nats_url
from messaging.handlers import UnknownSubscriber, handler, names
from messaging.lifecycle import stop_on_signals
from messaging.replay import replay_from_store
from messaging.runtime import run_subscribers
from messaging.subscriber import Subscriber


class Command(BaseCommand):
    help = "Run a subscriber by name (--once: apply what is there, then exit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--once", action="store_true")
        start = parser.add_mutually_exclusive_group()
        start.add_argument("--from-sequence", type=int, help="replay from this stream sequence")
        start.add_argument("--since", type=datetime.fromisoformat, help="replay from this time")
        parser.add_argument(
            "--source",
            choices=["nats", "store"],
            default="nats",
            help="store: replay history from the event stores (--since optional), then exit",
        )

    def handle(self, *args: Any, name: str, once: bool, **options: Any) -> None:
        if options["source"] == "store":
            try:
                chosen = handler(name)
            except UnknownSubscriber as exc:
                raise CommandError(str(exc)) from None
            applications = get_container().applications
            count = replay_from_store(chosen, applications, since=options["since"])
            if options["verbosity"] >= 1:
                self.stdout.write(f"{name}: replayed {count} stored events")
            return
        url = nats_url()  # NatsNotFound is a CommandError: one line, no traceback
        if name not in names():  # known by name: its handler is built once its database answers
            raise CommandError(str(UnknownSubscriber.named(name)))

        async def main() -> list[Subscriber]:
            return await run_subscribers(
                [name],
                url,
                once=once,
                from_sequence=options["from_sequence"],
                since=options["since"],
                stop=stop_on_signals(),
            )

        for subscriber in asyncio.run(main()):
            if options["verbosity"] >= 1 and once:
                stats = subscriber.stats
                self.stdout.write(f"{name}: applied {stats.applied}, parked {stats.dead_letters}")
