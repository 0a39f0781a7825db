"""``Application.save`` without its runtime-protocol checks.

Replaces: the library's ``Application.save``, which asks of each object it is given
``isinstance(obj, DomainEventProtocol)`` and then ``isinstance(obj, CollectEventsProtocol)``.
Both are runtime-checkable protocols, which Python checks attribute by attribute, on every
object of every save.

Why it is safe: it stores exactly what the library's save stores, in the same order and the
same transaction. An event is told from an aggregate by what it has (an ``originator_id``; an
aggregate has an ``id``), and an aggregate's pending events are what its ``collect_events``
returns; then it runs the library's own steps (``_record``, ``_take_snapshots``, ``_notify``).

What would break it: a library release that changes what ``save`` does between collecting and
recording, or renames those private steps; an object that is neither an event nor an aggregate
(the library would refuse it; this one would store what it can). tests/unit/tuning/ compares
what both store.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import Recording


class SavesWithoutProtocolChecks(Application[UUID]):
    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if obj is None:
                continue
            if hasattr(obj, "originator_id"):
                processing_event.events.append(cast(DomainEventProtocol[UUID], obj))
                continue
            if hasattr(obj, "collect_events"):
                processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)
        return recordings
