"""Connecting to NATS: one place that knows the options a daemon and a probe each need."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.client import Client


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
