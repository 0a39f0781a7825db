"""Snapshots taken from the aggregate just saved.

Replaces: the library's ``Application._take_snapshots``, which, for each saved event at a
multiple of the aggregate's ``snapshotting_intervals``, reads the aggregate back from the store
(its last snapshot and the events after it) and folds it, to snapshot that state.

Why it is safe: the aggregate that was just saved *is* that state: its version is the saved
event's, and the save succeeded. It is snapshotted as it is, with the library's own
``Snapshot.take``, at the same versions the library would choose.

What would break it: an aggregate whose saved object differs from a fold of its events (state
kept outside its events); snapshotting an event saved without its aggregate (the library reads
those back; this skips them, as their aggregate is not at hand).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Snapshot


class SnapshotsFromSavedState(Application[UUID]):
    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        if not (self.snapshots and self.snapshotting_intervals):
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval and event.originator_version % interval == 0:
                snapshot_class = getattr(type(aggregate), "Snapshot", Snapshot)
                self.snapshots.put([snapshot_class.take(aggregate)])
