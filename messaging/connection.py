"""Connecting to NATS: one place that knows the options a daemon and a probe each need."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from nats.aio.client import Client
from nats.js import JetStreamContext

from messaging.embedded import running_url
from messaging.stream import StreamSettings, ensure_stream, stream_settings

# How long a client waits for the JetStream API (nats-py's default is 5 s). On a cluster a request
# to a leader that just died goes unanswered, and only its timeout says so: a subscriber learns
# that its consumer is gone, set-up that it should ask again once a leader is elected. A healthy
# cluster answers in milliseconds, and a request that timed out needlessly is only made again.
JETSTREAM_API_TIMEOUT = 2.0


class NatsNotFound(CommandError):
    """No NATS to talk to: none configured, and no embedded server running. A command that
    raises it prints its one line and exits 1."""


def nats_url() -> str:
    """The NATS to use: ``NATS_URL``, or when it is unset the embedded server that ``run_all``
    runs for this data directory."""
    if settings.NATS_URL:
        return str(settings.NATS_URL)
    url = running_url(settings.NATS_EMBEDDED_DIR)
    if url is None:
        raise NatsNotFound(
            f"NATS_URL is not set and no embedded nats-server is running in {settings.DATA_DIR} "
            "(start it with `make run`, or set NATS_URL)"
        )
    return url


def servers(url: str) -> list[str]:
    """The servers a ``NATS_URL`` names: one, or a cluster's, comma-separated. nats-py connects
    to one of them (in random order, which spreads clients over the nodes) and moves to
    another when it goes away."""
    listed = [server.strip() for server in url.split(",") if server.strip()]
    if not listed:
        raise NatsNotFound(f"no NATS server in {url!r}")
    return listed


def tls_context() -> ssl.SSLContext | None:
    """How to talk TLS to the server, from settings; None to leave it to nats-py (which still
    upgrades, verifying against the system's trust store, when the server requires TLS).

    The server's certificate is always verified, host name included: against
    ``NATS_TLS_CA`` when set. ``NATS_TLS_CERT``/``NATS_TLS_KEY`` present a client certificate to
    a server that asks for one (mutual TLS)."""
    if not (settings.NATS_TLS_CA or settings.NATS_TLS_CERT):
        return None
    context = ssl.create_default_context(cafile=settings.NATS_TLS_CA or None)
    if settings.NATS_TLS_CERT:
        context.load_cert_chain(settings.NATS_TLS_CERT, settings.NATS_TLS_KEY or None)
    return context


async def connect(url: str, *, name: str, daemon: bool = True, timeout: float = 2.0) -> Client:
    """A daemon reconnects forever (the server restarts; we wait); a probe fails fast.

    Credentials travel in the URL (``nats://user:password@host``). A server that requires TLS
    gets it; with ``NATS_TLS_HANDSHAKE_FIRST`` the handshake comes before the server's first
    word, so nothing, credentials included, ever crosses the wire in the clear (the server must
    say ``handshake_first: true``).

    ``url`` may list a cluster's servers: a probe tries each once, a daemon goes round them
    until one answers."""
    return await nats.connect(
        servers=servers(url),
        name=name,
        connect_timeout=timeout,
        allow_reconnect=daemon,
        max_reconnect_attempts=-1 if daemon else 0,
        reconnect_time_wait=0.5,
        tls=tls_context(),
        tls_handshake_first=settings.NATS_TLS_HANDSHAKE_FIRST,
    )


async def ping(url: str, timeout: float = 2.0) -> None:
    """Connect, round-trip once, close; raise if no server of ``url`` answers in time (one is
    enough: a cluster that lost a node still serves)."""
    client = await asyncio.wait_for(
        connect(url, name="eventbank-healthz", daemon=False, timeout=timeout),
        timeout * len(servers(url)) + 1,  # each server gets its own connect timeout
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
        js = client.jetstream(timeout=JETSTREAM_API_TIMEOUT)
        stream = stream_settings()
        await ensure_stream(js, stream)
        yield js, stream
    finally:
        await client.drain()
        await sync_to_async(connections.close_all)()
