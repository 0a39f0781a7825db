"""How a long-running asyncio command lives and stops (after nats.py's graceful_shutdown.py):
signals set an Event; loops wait on it instead of sleeping, so a stop is never delayed. And what
such a command rides out rather than dies of."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import django.db
import eventsourcing.persistence

# A database that does not answer for now (restarting, unreachable, a lock held too long), as
# Django and the event stores each raise it. A daemon waits and tries again: whatever it was
# doing is nobody's bad input, and a message it was applying is no poison.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    django.db.OperationalError,
    django.db.InterfaceError,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
)


def stop_on_signals() -> asyncio.Event:
    """An Event that SIGTERM or SIGINT sets; call from inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep for ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
