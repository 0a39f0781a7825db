"""When a store's log has grown: the relay waits for this rather than asking every few ms.

The library's PostgreSQL recorder sends ``NOTIFY <channel>`` in every transaction that inserts
events (PostgreSQL delivers it at the commit), and the library's own subscriptions ``LISTEN``
on that channel. The relay listens to the same, on a connection of its own, and reads the log
when told; it also reads once in a while untold, so a notification could never be what stands
between an event and the stream. SQLite has no notifications: there the relay asks the log at a
short interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from kernel.application import EventSourcedApplication


class News(Protocol):
    """``wait`` returns when the log may have grown, or ``stop`` is set."""

    async def wait(self, stop: asyncio.Event) -> None: ...


class Polling:
    """No notifications (SQLite): the log may have grown whenever ``interval`` has passed."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    async def wait(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self.interval)


class Listening:
    """``LISTEN`` on the recorder's channel. Notifications set one flag, which a wait clears:
    however many commits came meanwhile, the relay wakes once and reads them all."""

    def __init__(self, connection: psycopg.AsyncConnection[Any], at_most: float) -> None:
        self.connection = connection
        self.at_most = at_most
        self.notified = asyncio.Event()
        self.listener = asyncio.ensure_future(self._listen())

    async def _listen(self) -> None:
        async for _ in self.connection.notifies():
            self.notified.set()

    async def wait(self, stop: asyncio.Event) -> None:
        waits = {asyncio.ensure_future(self.notified.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait({*waits, self.listener}, timeout=self.at_most,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            for waiting in waits:
                waiting.cancel()
        self.notified.clear()
        if self.listener.done():  # the connection broke: the database is away
            self.listener.result()
            raise psycopg.OperationalError("the store's notification connection closed")

    async def close(self) -> None:
        self.listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
            await self.listener
        await self.connection.close()


@contextlib.asynccontextmanager
async def news_of(
    app: EventSourcedApplication, *, poll_interval: float, at_most: float
) -> AsyncIterator[News]:
    """How the relay of ``app``'s log learns that it grew: listening where its store notifies
    (PostgreSQL), reading again at least every ``at_most`` seconds; elsewhere every
    ``poll_interval``."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        yield Polling(poll_interval)
        return
    # The pool's own connection settings (its ``kwargs``: a mapping, or a function giving
    # one), autocommit so that notifications arrive as they are sent.
    kwargs = recorder.datastore.pool.kwargs
    kwargs = (kwargs() if callable(kwargs) else kwargs) or {}
    settings = {k: v for k, v in kwargs.items() if k != "row_factory"}
    connection = await psycopg.AsyncConnection.connect(
        **settings, autocommit=True, connect_timeout=5
    )
    try:
        await connection.execute(SQL("LISTEN {}").format(Identifier(recorder.channel_name)))
    except BaseException:
        await connection.close()
        raise
    listening = Listening(connection, at_most)
    try:
        yield listening
    finally:
        await listening.close()
