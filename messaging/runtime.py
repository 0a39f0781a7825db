"""What the messaging commands run: the outbox relay, the subscribers, the stream's set-up.

Each is an ``async`` function a command starts with ``asyncio.run`` (and a test or a benchmark
awaits directly); the commands only parse their arguments, call one of these, and print.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

import psycopg
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from kernel.application import EventSourcedApplication
from messaging.connection import JETSTREAM_API_TIMEOUT, connect, jetstream_session
from messaging.handlers import handler
from messaging.lifecycle import DATABASE_UNAVAILABLE, sleep_unless
from messaging.locks import lock_for
from messaging.positions import RelayPositions
from messaging.relay import Relay, RelayStopped
from messaging.stream import ensure_stream, stream_settings
from messaging.subscriber import Handler, Subscriber

logger = logging.getLogger(__name__)
T = TypeVar("T")
LOCK_RETRY_SECONDS = 1.0
# The relay's lock is a session of its own (messaging/locks.py), whose errors are psycopg's.
DATABASE_AWAY: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, psycopg.OperationalError)


async def relay_events(
    applications: Mapping[str, EventSourcedApplication],
    url: str,
    *,
    once: bool,
    stop: asyncio.Event,
) -> dict[str, int]:
    """Relay every source (one per application): each holds its source's lock, so a second
    relay waits as a standby; with ``once``, publish what is stored now and return the
    positions."""
    client = await connect(url, name="eventbank-relay")
    try:
        js = client.jetstream(timeout=JETSTREAM_API_TIMEOUT)
        stream = stream_settings()
        await ensure_stream(js, stream)
        relays = [Relay(app, js, stream, RelayPositions()) for app in applications.values()]
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
    """Relay one source while holding its lock; a database that goes away (the lock's, the
    positions' or the store's) is waited out here, said once, and relaying starts again from
    the stored position: a window published and not yet recorded is sent again, and JetStream
    drops it as a duplicate."""
    lock = lock_for(f"relay:{relay.source}")
    away: Exception | None = None
    while not stop.is_set():
        try:
            if not await sync_to_async(lock.try_acquire, thread_sensitive=False)():
                logger.info("relay %s: another relay holds the source; waiting", relay.source)
                await sleep_unless(stop, LOCK_RETRY_SECONDS)
                continue
            try:
                if once:
                    return await relay.catch_up(stop)
                await relay.run(
                    stop, lock_held=sync_to_async(lock.still_held, thread_sensitive=False)
                )
            except RelayStopped:
                pass
            finally:
                await sync_to_async(lock.release, thread_sensitive=False)()
        except DATABASE_AWAY as exc:
            if away is None:
                logger.warning(
                    "relay %s: %s: %s; relaying again from its stored position",
                    relay.source, type(exc).__name__, exc,
                )  # fmt: skip
            away = exc
            # A connection the error broke stays broken until closed: the next query opens anew.
            await sync_to_async(close_old_connections)()
            await sleep_unless(stop, LOCK_RETRY_SECONDS)
    return await relay.positions.load(relay.source)


async def run_subscribers(
    names: list[str],
    url: str,
    *,
    once: bool = False,
    from_sequence: int | None = None,
    since: datetime | None = None,
    stop: asyncio.Event | None = None,
) -> list[Subscriber]:
    """Run the named subscribers side by side on one connection until stopped (or caught up)."""
    stop = stop or asyncio.Event()
    async with jetstream_session(url, name=f"eventbank-{'+'.join(names)}") as (js, stream):
        handlers = [await started_handler(n, stop) for n in names]
        if stop.is_set():
            return []
        subscribers = [Subscriber(h, js, stream) for h in handlers]
        if from_sequence is not None or since is not None:
            for subscriber in subscribers:
                await subscriber.rewind(sequence=from_sequence, since=since)
        async with asyncio.TaskGroup() as group:
            for subscriber in subscribers:
                group.create_task(subscriber.run(stop, once=once))
        return subscribers


async def started_handler(name: str, stop: asyncio.Event) -> Handler:
    """The subscriber's handler, built when its application can reach its database."""
    return await when_database_answers(lambda: handler(name), stop, f"subscriber {name}")


async def when_database_answers(build: Callable[[], T], stop: asyncio.Event, what: str) -> T:
    """``build()`` (an application, which opens its store as it is made), once its database
    answers: a daemon started during an outage — restarted by its supervisor then — waits for
    it with one log line, as it rides out an outage once running, instead of exiting again."""
    away = False
    while True:
        try:
            return await sync_to_async(build)()
        except DATABASE_AWAY as exc:
            if stop.is_set():
                raise
            if not away:
                logger.warning(
                    "%s: %s: %s; starting when its database answers",
                    what, type(exc).__name__, exc,
                )  # fmt: skip
            away = True
            await sync_to_async(close_old_connections)()
            await sleep_unless(stop, LOCK_RETRY_SECONDS)


async def setup_nats(url: str) -> str:
    """Create or update the stream that carries every event: safe to run at every start."""
    client = await connect(url, name="eventbank-setup", daemon=False)
    try:
        return await ensure_stream(
            client.jetstream(timeout=JETSTREAM_API_TIMEOUT), stream_settings()
        )
    finally:
        await client.close()
