"""Read-your-writes: ``?min_position=N`` makes a projection read wait until it has applied N.

A wait holds a web worker's thread, so it is bounded twice: in time (the read answers 503
``projection_behind`` when the projection has not caught up in time) and in number (a process
lets only a few requests wait at once; any more answer 503 at once). A position that its log
has not reached is no write's position, or not yet one this server can see (a replica's log
may lag its primary's): it answers 503 at once, with no wait.

With a read replica (``DATABASE_REPLICA_URL``), what a client reads of the projections runs in
a ``reading_projections()`` scope, which ``config/routers.py`` sends to the standby. The wait
reads the subscriber's position there too: the position row replicates in the same transaction
as the rows it vouches for, so a position seen on the standby means its rows are there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any, TypeVar

from django.conf import settings

from api.errors import ApiError
from api.serializers import LARGEST_POSITION, WholeNumberField
from kernel.application import EventSourcedApplication
from projections.selectors import caught_up_to, wait_until_caught_up


def min_position_field() -> WholeNumberField:
    """The ``min_position`` filter of every projection read."""
    return WholeNumberField(
        required=False,
        min_value=0,
        max_value=LARGEST_POSITION,
        help_text="Wait (bounded) until the projection has applied this position of its "
        "context's log: a write's `position` (beyond the log's head: 503 at once).",
    )


def require_position(
    position: int | None, projection: str, *, log: EventSourcedApplication
) -> None:
    """Return once ``projection`` has applied ``position`` of ``log``, the notification log of
    the application that wrote it (None: at once); 503 ``projection_behind`` at once for a
    position beyond the log's head or when too many requests are waiting already, and after
    the wait when the projection is still behind."""
    source = log.name
    if position is None or caught_up_to(projection, source) >= position:
        return
    head = log.max_position()
    if position > head:
        raise _behind(projection, source, position, f"nor has its log (its head is {head})")
    timeout = settings.READ_YOUR_WRITES_TIMEOUT_SECONDS
    if not _waiting().acquire(blocking=False):
        raise _behind(projection, source, position, "while too many reads are waiting already")
    try:
        if wait_until_caught_up(projection, source, position, timeout=timeout):
            return
    finally:
        _waiting().release()
    raise _behind(projection, source, position, f"within {timeout:g} s")


def _waiting() -> threading.BoundedSemaphore:
    """The places for waiting reads in this process."""
    return _places(settings.READ_YOUR_WRITES_MAX_WAITING)


@cache
def _places(count: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(count)


def _behind(projection: str, source: str, position: int, when: str) -> ApiError:
    return ApiError(
        503,
        "projection_behind",
        f"The {projection} projection has not reached position {position} of the {source} "
        f"log {when}; retry shortly.",
        {"projection": projection, "source": source, "min_position": position},
    )


# --- Which database serves a client's read ------------------------------------------------------


@dataclass
class ProjectionReads:
    """One client's read of the projections. ``alias`` is the database that serves it, chosen
    (by the router) at its first query and kept to its end: the position a wait reads and the
    rows read after it must come from the same database, or a position read on the primary
    could vouch for rows that a lagging replica does not have yet."""

    alias: str | None = None


_projection_reads: ContextVar[ProjectionReads | None] = ContextVar("projection_reads", default=None)


@contextmanager
def reading_projections() -> Iterator[ProjectionReads]:
    """A client's read of the projections: its queries of read models may go to the replica.
    Everything outside such a scope (writes, the subscribers applying events, positions they
    write, auth, sessions, idempotency keys, throttles) stays on the primary."""
    reads = ProjectionReads()
    token = _projection_reads.set(reads)
    try:
        yield reads
    finally:
        _projection_reads.reset(token)


def projection_reads() -> ProjectionReads | None:
    """The client's read of the projections this code runs in, if any."""
    return _projection_reads.get()


View = TypeVar("View", bound=Callable[..., Any])


def reads_projections(method: View) -> View:
    """For a view method that only reads projections (a list, an order's detail): it runs in a
    ``reading_projections()`` scope."""

    @wraps(method)
    def read(*args: Any, **kwargs: Any) -> Any:
        with reading_projections():
            return method(*args, **kwargs)

    return read  # type: ignore[return-value]  # the same signature, wrapped
