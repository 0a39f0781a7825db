"""A batch's aggregates brought up to date in one query, not one query each.

Replaces: ``kernel.application.ReadsMany.load_many``, the core's plain way, a
``repository.get`` per id. With the aggregate cache (``tuning.aggregate_cache``) each of those
gets is one query, for the events after the cached version; a round of a batch of a hundred
transfers reads about as many accounts, so the round waited on a hundred round trips.

Why it is safe: it does what the library's fast-forwarding ``get`` does, for many ids at once:
the events after each cached aggregate's version, read from the store (one query, PostgreSQL's
``unnest`` of ids and versions, ``OneRoundTripRecorder.select_events_after``), folded into the
cached aggregate under the library's own fast-forward lock for that id, and a deep copy handed
out. The fold is the library's ``project_aggregate`` without its ``isinstance`` of a runtime
protocol on every event (the reason ``tuning.known_classes`` gives): the events are decoded by
the application's mapper into its own event classes, which mutate. A cached aggregate another
thread brought further meanwhile takes only the events past its version. An id not in the
cache, or another store than the tuned PostgreSQL recorder, takes the library's ``get``: the
store, not this module, decides what is current.

What would break it: a library release whose ``Repository`` no longer has ``cache``,
``_use_fastforward_lock`` and ``_disuse_fastforward_lock`` (the test of this module reads the
same aggregates both ways), or a ``get`` that does more than fast-forward and copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import CanMutateProtocol

from kernel.application import ReadsMany
from tuning.recorder import OneRoundTripRecorder


class ManyReads(ReadsMany):
    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, Any]:
        repository = self.repository
        if repository.cache is None or not isinstance(self.recorder, OneRoundTripRecorder):
            return super().load_many(aggregate_ids)
        cached: dict[UUID, Any] = {}
        loaded: dict[UUID, Any] = {}
        for aggregate_id in aggregate_ids:
            try:
                cached[aggregate_id] = repository.cache.get(aggregate_id)
            except KeyError:
                try:
                    loaded[aggregate_id] = repository.get(aggregate_id)
                except AggregateNotFoundError:
                    continue
        after = self.recorder.select_events_after({i: a.version for i, a in cached.items()})
        for aggregate_id, aggregate in cached.items():
            lock = repository._use_fastforward_lock(aggregate_id)
            try:
                with lock:
                    since = aggregate.version  # further, if another thread brought it on
                    news = (e for e in after[aggregate_id] if e.originator_version > since)
                    for event in map(self.mapper.to_domain_event, news):
                        cast(CanMutateProtocol[Any], event).mutate(aggregate)  # see above
                    loaded[aggregate_id] = deepcopy(aggregate)
            finally:
                repository._disuse_fastforward_lock(aggregate_id)
        return loaded
