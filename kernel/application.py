"""The base of every context's ``eventsourcing`` Application.

It adds what each context needs and the library leaves to us: correlation ids stamped on
every stored event, a transcoding for ``date``, retries when optimistic concurrency says
another writer got there first, and read access to the notification log by position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import (
    BaseAggregate,
    CanMutateProtocol,
    DomainEventProtocol,
    MutableOrImmutableAggregate,
    Snapshot,
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


def fold(aggregate: Any, events: Iterable[CanMutateProtocol[Any]]) -> Any:
    """Apply each event to the aggregate in turn: the library's ``project_aggregate`` without
    its per-event ``isinstance(event, CanMutateProtocol)`` assert. A runtime-checkable
    protocol is checked attribute by attribute, ~25 µs on Python 3.11; on a transfer's reads
    that was a twentieth of a web worker's CPU."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


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


class EventSourcedApplication(Application[UUID]):
    """What every context's application shares. Subclasses set ``name`` and ``catalogue``."""

    catalogue: EventCatalogue
    conflict_retries = 20
    # Keep recently used aggregates in memory, per process. A cached aggregate is brought up to
    # date from the store on every read (one query for the events after its version, instead of
    # a snapshot read and an events read and a fold from the snapshot), and handed out as a
    # copy, so a command that fails leaves the cache untouched. Correct with any number of
    # processes: the store, not the cache, decides what is current.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
    # Snapshot an aggregate of a type every so many events (see ``_take_due_snapshots``);
    # with the cache in front, a snapshot serves only a process's first read of an aggregate.
    snapshot_every: ClassVar[dict[type[BaseAggregate[UUID]], int]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.is_snapshotting_enabled = bool(cls.snapshot_every)  # a store for the snapshots

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
        """The library's ``save``, without its runtime-protocol checks. It asks of each object
        ``isinstance(obj, DomainEventProtocol)``, then ``isinstance(obj, CollectEventsProtocol)``;
        a runtime-checkable protocol is checked attribute by attribute, and on a transfer's
        saves that was 3% of a web worker's CPU. Here an event is what has an ``originator_id``
        (an aggregate has an ``id``), and an aggregate's pending events are what its
        ``collect_events`` returns."""
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

    def save_all(self, *aggregates: BaseAggregate[UUID] | None) -> int | None:
        """Save in one transaction; return the highest notification id written (the position)."""
        with ensure_correlation() as scope:
            recordings = self.save(*aggregates)
            self._take_due_snapshots(aggregates, recordings)
            positions = [r.notification.id for r in recordings if r.notification.id is not None]
            if not positions:
                return None
            position = max(positions)
            scope.wrote(self.name, position)
            return position

    def _take_due_snapshots(
        self,
        aggregates: Sequence[BaseAggregate[UUID] | None],
        recordings: Sequence[Recording[UUID]],
    ) -> None:
        """Snapshot each aggregate whose saved events reached a multiple of its interval. The
        library's own snapshotting (``snapshotting_intervals``) reads the aggregate back from
        the store, from its last snapshot, to take the next; the aggregate just saved is that
        state already, so this takes it from there, at no read's cost."""
        saved = {a.id: a for a in aggregates if a is not None}
        for recording in recordings:
            event = recording.domain_event
            aggregate = saved.get(event.originator_id)
            if aggregate is None:
                continue
            every = self.snapshot_every.get(type(aggregate))
            if every and event.originator_version % every == 0:
                assert self.snapshots is not None  # made when snapshot_every is set
                snapshot_class = getattr(type(aggregate), "Snapshot", Snapshot)
                self.snapshots.put([snapshot_class.take(aggregate)])

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
        """The current aggregate with this id (``AggregateNotFoundError`` if none): a copy,
        from the cache brought up to date, or folded from the last snapshot and the events."""
        return self.repository.get(aggregate_id, projector_func=fold)

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
