"""Read-your-writes: ``?min_position=N`` makes a projection read wait until it has applied N.

A wait holds a web worker's thread, so it is bounded twice: in time (the read answers 503
``projection_behind`` when the projection has not caught up in time) and in number (a process
lets only a few requests wait at once; any more answer 503 at once). A position that its log
has not reached is no write's position, or not yet one this server can see (a replica's log
may lag its primary's): it answers 503 at once, with no wait.
"""

from __future__ import annotations

import threading
from functools import cache

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
