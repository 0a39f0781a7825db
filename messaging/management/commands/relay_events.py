"""The outbox relay: publish every stored event, in order, to JetStream.

One relay task per source (ledger, orders, compliance), each holding its source's lock: start a
second relay and it waits as a standby. SIGTERM finishes the window in hand and stops.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from config.container import Container, get_container
from messaging.connection import connect
from messaging.lifecycle import sleep_unless, stop_on_signals
from messaging.locks import lock_for
from messaging.positions import RelayPositions
from messaging.relay import Relay, RelayStopped
from messaging.stream import ensure_stream, stream_settings

logger = logging.getLogger(__name__)
LOCK_RETRY_SECONDS = 1.0


async def relay_events(
    container: Container, url: str, *, once: bool, stop: asyncio.Event
) -> dict[str, int]:
    """Relay every source; with ``once``, publish what is stored now and return the positions."""
    client = await connect(url, name="eventbank-relay")
    try:
        js = client.jetstream()
        stream = stream_settings()
        await ensure_stream(js, stream)
        relays = [
            Relay(app, js, stream, RelayPositions()) for app in container.applications.values()
        ]
        # A TaskGroup: if one source's relay fails, the others stop too (and the process exits
        # for its supervisor to restart), rather than publishing on a closing connection.
        async with asyncio.TaskGroup() as group:
            tasks = {
                r.source: group.create_task(_relay_source(r, once=once, stop=stop)) for r in relays
            }
        return {source: task.result() for source, task in tasks.items()}
    finally:
        await client.drain()
        await sync_to_async(connections.close_all)()  # the executor thread's, for the ORM


async def _relay_source(relay: Relay, *, once: bool, stop: asyncio.Event) -> int:
    lock = lock_for(f"relay:{relay.source}")
    while not stop.is_set():
        if not await sync_to_async(lock.try_acquire, thread_sensitive=False)():
            logger.info("relay %s: another relay holds the source; waiting", relay.source)
            await sleep_unless(stop, LOCK_RETRY_SECONDS)
            continue
        try:
            if once:
                return await relay.catch_up(stop)
            await relay.run(stop, lock_held=sync_to_async(lock.still_held, thread_sensitive=False))
        except RelayStopped:
            pass
        finally:
            await sync_to_async(lock.release, thread_sensitive=False)()
    return await relay.positions.load(relay.source)


class Command(BaseCommand):
    help = "Publish every stored event, in order, to JetStream (the outbox relay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="publish what is stored now, then exit"
        )

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        if not settings.NATS_URL:
            raise CommandError("NATS_URL is not set (run_all sets it for the embedded server)")
        positions = asyncio.run(self._main(once))
        if options["verbosity"] >= 1 and once:
            for source, position in positions.items():
                self.stdout.write(f"{source}: published up to position {position}")

    async def _main(self, once: bool) -> dict[str, int]:
        stop = stop_on_signals()
        return await relay_events(get_container(), settings.NATS_URL, once=once, stop=stop)
