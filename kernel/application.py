"""The base of every context's ``eventsourcing`` Application.

It adds what each context needs and the library leaves to us: correlation ids stamped on
every stored event, a transcoding for ``date``, retries when optimistic concurrency says
another writer got there first, and read access to the notification log by position. Saving,
loading and snapshotting are the library's own (the tuning package may replace how, never
what: ``tuning/``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import (
    BaseAggregate,
    DomainEventProtocol,
    MutableOrImmutableAggregate,
)
from eventsourcing.persistence import (
    ApplicationRecorder,
    JSONTranscoder,
    Mapper,
    Notification,
    RecordConflictError,
    Recording,
    StoredEvent,
    Transcoding,
)
from eventsourcing.utils import get_topic

from kernel.correlation import current, ensure_correlation
from kernel.events import META_FIELD, EventCatalogue

R = TypeVar("R")
A = TypeVar("A", bound=BaseAggregate[UUID])


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CorrelatingMapper(Mapper[UUID]):
    """Stamps each event with the correlation scope it was stored in, before it is encoded."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if META_FIELD not in vars(domain_event):
            scope = current()
            meta = (
                {"correlation_id": scope.correlation_id, "causation_id": scope.causation_id}
                if scope
                else {}
            )
            # Events are frozen; the stamp is metadata beside the state, set once, never read
            # by the aggregate (the library passes only declared parameters to mutators).
            object.__setattr__(domain_event, META_FIELD, meta)
        return super().to_stored_event(domain_event)


class IdentityMap:
    """The aggregates read while it is open, one object per id (Fowler's identity map).

    The first read of an id loads it from the store; every later read of that id returns the
    same object, with whatever it has done since and not yet saved. A batch of sagas advances a
    round in one, so two transfers from one account see each other's debit. It also notes what
    each read found, so a step that says no can be checked to have changed nothing it read.
    """

    def __init__(self) -> None:
        self.objects: dict[tuple[str, UUID], Any] = {}
        self.reads: list[tuple[Any, int]] = []  # (aggregate, its pending events when read)

    def get(self, app: EventSourcedApplication, aggregate_id: UUID) -> Any:
        key = (app.name, aggregate_id)
        aggregate = self.objects.get(key)
        if aggregate is None:
            aggregate = self.objects[key] = app.repository.get(aggregate_id)
        self.reads.append((aggregate, len(aggregate.pending_events)))
        return aggregate

    def preload(self, app: EventSourcedApplication, aggregate_ids: Iterable[UUID]) -> None:
        """Read these aggregates now, all at once (``load_many``), so that the reads to come
        find them here; an id that names no aggregate is left for its read to find out."""
        wanted = [i for i in dict.fromkeys(aggregate_ids) if (app.name, i) not in self.objects]
        for aggregate_id, aggregate in app.load_many(wanted).items():
            self.objects[(app.name, aggregate_id)] = aggregate

    def mark(self) -> int:
        return len(self.reads)

    def changed_since(self, mark: int) -> list[Any]:
        """Aggregates read after ``mark`` that have gained events since they were read."""
        return [a for a, pending in self.reads[mark:] if len(a.pending_events) != pending]


_identity_map: ContextVar[IdentityMap | None] = ContextVar("identity_map", default=None)


@contextmanager
def identity_map() -> Iterator[IdentityMap]:
    """Within it, ``EventSourcedApplication.load`` reads through one ``IdentityMap``."""
    objects = IdentityMap()
    token = _identity_map.set(objects)
    try:
        yield objects
    finally:
        _identity_map.reset(token)


class ReadsMany(Application[UUID]):
    """Many aggregates read at once (a batch's round reads them so). The library reads one at
    a time, so here it is a ``repository.get`` of each; ``tuning.many_reads`` subclasses this
    to read them in one query, and sits above it, under the context's application."""

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, Any]:
        """The current aggregates with these ids, by id; an id that names none is left out."""
        loaded: dict[UUID, Any] = {}
        for aggregate_id in aggregate_ids:
            try:
                loaded[aggregate_id] = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
        return loaded


class EventSourcedApplication(ReadsMany):
    """What every context's application shares. Subclasses set ``name`` and ``catalogue``,
    and ``snapshotting_intervals`` (the library's) for aggregates with long histories."""

    catalogue: EventCatalogue
    conflict_retries = 20

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=CorrelatingMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """The library's ``save``, in one transaction, inside the current correlation scope (a
        fresh one outside a request or a message, so every event has one), which notes the
        highest position it wrote (``position_written``)."""
        with ensure_correlation() as scope:
            recordings = super().save(*objs, **kwargs)
            positions = [r.notification.id for r in recordings if r.notification.id is not None]
            if positions:
                scope.wrote(self.name, max(positions))
            return recordings

    def retrying(self, operation: Callable[[], R]) -> R:
        """Run ``operation`` again from fresh reads while another writer wins the version race."""
        for attempt in range(self.conflict_retries):
            try:
                return operation()
            except RecordConflictError:
                if attempt == self.conflict_retries - 1:
                    raise
                time.sleep(min(0.002 * 2**attempt, 0.1))
        raise AssertionError("unreachable")

    def stored_events(self, aggregate_id: UUID) -> list[Any]:
        """Every event of one aggregate, decoded, oldest first."""
        return list(self.events.get(aggregate_id))

    def load(self, aggregate_id: UUID) -> Any:
        """The current aggregate with this id (``AggregateNotFoundError`` if none), folded from
        its last snapshot and the events after it; within an ``identity_map``, the object it
        holds for that id."""
        objects = _identity_map.get()
        if objects is not None:
            return objects.get(self, aggregate_id)
        return self.repository.get(aggregate_id)

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate with this id if it exists and is a ``kind``; otherwise None."""
        try:
            aggregate: object = self.load(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    # --- The notification log, read by position (the relay, replays, recovery) ---------

    @property
    def application_recorder(self) -> ApplicationRecorder:
        assert isinstance(self.recorder, ApplicationRecorder)
        return self.recorder

    def notifications_after(
        self, position: int, limit: int, topics: Sequence[str] = ()
    ) -> Sequence[Notification]:
        """Up to ``limit`` notifications with ids above ``position``; ids may have gaps."""
        return self.application_recorder.select_notifications(
            position, limit, topics=topics, inclusive_of_start=False
        )

    def events_of_type(self, *event_classes: type) -> Iterator[Any]:
        """Every stored event of these classes, decoded, in the log's order. The store filters
        by topic, but reads its whole log to do so: for what is rare (forgetting a customer),
        never for what a request does."""
        topics, position = [get_topic(c) for c in event_classes], 0
        while notifications := self.notifications_after(position, 1000, topics=topics):
            yield from (self.decode(n) for n in notifications)
            position = notifications[-1].id

    def max_position(self) -> int:
        return self.application_recorder.max_notification_id() or 0

    def position_written(self) -> int:
        """The position a write's reply carries: the highest notification id this request (or
        consumed message) wrote to this log, so a read given it as ``min_position`` sees the
        write. The head of the log when it wrote nothing here, or wrote from another thread.
        Known from the save itself, it costs no query; the head would be a ``MAX()``."""
        scope = current()
        written = scope.written.get(self.name) if scope else None
        return self.max_position() if written is None else written

    def decode(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)

    def readable(self, envelope: dict[str, Any], *, erased: Any = None) -> dict[str, Any]:
        """An envelope as staff read it in the operations console: as published, unless the
        context publishes something sealed, which it opens here (showing ``erased`` for what can
        no longer be opened)."""
        return envelope
