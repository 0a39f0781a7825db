"""Connecting to NATS: one place that knows the options a daemon and a probe each need."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from asgiref.sync import sync_to_async
from django.db import connections
from nats.aio.client import Client
from nats.js import JetStreamContext

from messaging.stream import StreamSettings, ensure_stream, stream_settings


async def connect(url: str, *, name: str, daemon: bool = True, timeout: float = 2.0) -> Client:
    """A daemon reconnects forever (the server restarts; we wait); a probe fails fast."""
    return await nats.connect(
        servers=[url],
        name=name,
        connect_timeout=timeout,
        allow_reconnect=daemon,
        max_reconnect_attempts=-1 if daemon else 0,
        reconnect_time_wait=0.5,
    )


async def ping(url: str, timeout: float = 2.0) -> None:
    """Connect, round-trip once, close; raise if the server does not answer in time."""
    client = await asyncio.wait_for(
        connect(url, name="eventbank-healthz", daemon=False, timeout=timeout), timeout + 1
    )
    try:
        await client.flush(timeout=max(1, round(timeout)))
    finally:
        await client.close()


@asynccontextmanager
async def jetstream_session(
    url: str, *, name: str
) -> AsyncIterator[tuple[JetStreamContext, StreamSettings]]:
    """JetStream for a command that consumes the stream: the stream ensured on the way in; on
    the way out the connection drained and the ORM's connections in the executor thread closed
    (``sync_to_async`` work ran there, and nobody else would close them)."""
    client = await connect(url, name=name)
    try:
        js = client.jetstream()
        stream = stream_settings()
        await ensure_stream(js, stream)
        yield js, stream
    finally:
        await client.drain()
        await sync_to_async(connections.close_all)()
