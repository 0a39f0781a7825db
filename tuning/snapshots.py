"""Snapshots taken from the aggregate just saved.

Replaces: the library's ``Application._take_snapshots``, which, for each saved event at a
multiple of the aggregate's ``snapshotting_intervals``, reads the aggregate back from the store
(its last snapshot and the events after it) and folds it, to snapshot that state.

Why it is safe: the aggregate that was just saved *is* that state: its version is the saved
event's, and the save succeeded. It is snapshotted as it is, with the library's own
``Snapshot.take``, when the library would take one. The snapshots of one save (a batch's
round saves many aggregates) go to the store in one write, not one each; an aggregate that
passed two multiples of its interval in one save (a batch moving an account a hundred times
in a round) is snapshotted once, in its saved state: the library reads one back at each
multiple, but the state at hand has one version, and two snapshots of it would collide.

What would break it: an aggregate whose saved object differs from a fold of its events (state
kept outside its events); snapshotting an event saved without its aggregate (the library reads
those back; this skips them, as their aggregate is not at hand).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Snapshot


class SnapshotsFromSavedState(Application[UUID]):
    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        if not (self.snapshots and self.snapshotting_intervals):
            return
        due: dict[UUID, Any] = {}  # one snapshot an aggregate, of the state it was saved in
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval and event.originator_version % interval == 0:
                due[aggregate.id] = aggregate
        if due:
            self.snapshots.put(
                [getattr(type(a), "Snapshot", Snapshot).take(a) for a in due.values()]
            )
