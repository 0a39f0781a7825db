"""Recently used aggregates kept in memory, and brought up to date on every read.

Replaces: the library's default of no aggregate cache, under which each read of an aggregate
is a snapshot read, an events read, and a fold from the snapshot.

Why it is safe: the library's own cache (``AGGREGATE_CACHE_MAXSIZE``) with fast-forwarding
(``AGGREGATE_CACHE_FASTFORWARD``): a cached aggregate is read forward from the store on every
``get`` (one query, for the events after its version), so the store, not the cache, decides
what is current, with any number of processes writing. Each ``get`` hands out a copy, so a
command that fails leaves the cached aggregate as it was.

What would break it: turning fast-forwarding off (a process would then read its own stale
copy); aggregates too large to keep ten thousand of in a process.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from eventsourcing.application import Application


class AggregateCache(Application[UUID]):
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }
