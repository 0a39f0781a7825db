"""Saving the library's own aggregates without asking them for their protocols.

Replaces: the two ``typing.Protocol`` checks the library makes on each object it saves
(``ProcessingEvent.collect_events`` asks ``isinstance(obj, DomainEventProtocol)`` and then
``isinstance(obj, CollectEventsProtocol)``). On Python 3.11 a runtime protocol check walks the
protocol's members on every call, which makes these checks a large share of a saga step's
own work.

Why it is safe: an instance of the library's ``BaseAggregate`` satisfies
``CollectEventsProtocol`` and is no domain event, by the class's own definition, so for it the
answer is known from the class. Anything else (an event saved on its own, an aggregate of
another shape) takes the library's path.
``save`` is the library's own, step for step, with this ``ProcessingEvent`` in it.

What would break it: a release of the library whose ``save`` does more than these steps (the
test of this module compares the two, source against source), or aggregates that are not
``BaseAggregate`` subclasses (they would only lose the gain).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import Recording


class KnownClassesProcessingEvent(ProcessingEvent[UUID]):
    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class KnownClasses(Application[UUID]):
    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        processing_event = KnownClassesProcessingEvent()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library still calls its deprecated hook
        return recordings
