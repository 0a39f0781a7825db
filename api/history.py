"""An aggregate's stored events as the API shows them: envelopes, each with its position in its
context's log, a page at a time; and the events of many aggregates in one read.

The library's recorders keep every event's notification id beside it (``notification_id`` on
PostgreSQL, the row id on SQLite) but hand it out only from reads of the log, in order; a
history read needs it per aggregate, so ``positions`` asks the table for it. A page of an
aggregate's events is one read of a range of versions: versions run 1, 2, 3, ... with no gap,
so the aggregate's version is the count, and no page reads the events of another. The library
reads one aggregate's events at a time; a list that shows the histories of many (the orders of
a GraphQL page) reads them all with one query, ``recorded``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple, overload
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Pagination
from kernel.application import EventSourcedApplication
from kernel.events import envelope


def positions(
    app: EventSourcedApplication, aggregate_id: UUID, *, gt: int = 0, lte: int | None = None
) -> dict[int, int]:
    """The position in ``app``'s log of each stored event of one aggregate (versions above
    ``gt``, up to ``lte``), by version. Empty for a recorder that keeps none (in memory)."""
    recorder, top = app.recorder, lte if lte is not None else 2**62
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL(
            "SELECT originator_version, notification_id FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version > %s AND originator_version <= %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, [aggregate_id, gt, top])
            return {row["originator_version"]: row["notification_id"] for row in cursor}
    if isinstance(recorder, SQLiteApplicationRecorder):
        # The table is the library's own, named by the application (no input reaches it).
        query = (
            f"SELECT originator_version, rowid FROM {recorder.events_table_name} "  # noqa: S608
            "WHERE originator_id = ? AND originator_version > ? AND originator_version <= ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, [aggregate_id.hex, gt, top])
            return {row["originator_version"]: row["rowid"] for row in cursor.fetchall()}
    return {}


class Recorded(NamedTuple):
    """A stored event, decoded, and its position in its context's log (None for a recorder
    that keeps none: in memory)."""

    event: Any
    position: int | None


def recorded(app: EventSourcedApplication, aggregate_ids: Collection[UUID]) -> list[Recorded]:
    """Every stored event of these aggregates, each with its position, in the log's order: one
    query of ``app``'s events table, however many aggregates."""
    ids = list(dict.fromkeys(aggregate_ids))
    recorder = app.recorder
    if not ids:
        return []
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {schema}.{table} WHERE originator_id = ANY(%s) ORDER BY notification_id"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, [ids])
            rows = [
                (r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]),
                 r["notification_id"])
                for r in cursor
            ]  # fmt: skip
    elif isinstance(recorder, SQLiteApplicationRecorder):
        # The table is the library's own, named by the application; the ids are parameters.
        query = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {recorder.events_table_name} "
            f"WHERE originator_id IN ({', '.join('?' * len(ids))}) ORDER BY rowid"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, [i.hex for i in ids])
            rows = [
                (recorder.convert_originator_id(r["originator_id"]), r["originator_version"],
                 r["topic"], r["state"], r["rowid"])
                for r in cursor.fetchall()
            ]  # fmt: skip
    else:
        return [Recorded(e, None) for i in ids for e in app.events.get(i)]
    return [
        Recorded(app.mapper.to_domain_event(StoredEvent(i, version, topic, state)), position)
        for i, version, topic, state, position in rows
    ]


def published(app: EventSourcedApplication, events: Iterable[Any]) -> list[dict[str, Any]]:
    """Stored events of ``app`` (of one aggregate or several) in their published form, each
    with its position."""
    events = list(events)
    found: dict[tuple[UUID, int], int] = {}
    for aggregate_id in {event.originator_id for event in events}:
        versions = [e.originator_version for e in events if e.originator_id == aggregate_id]
        known = positions(app, aggregate_id, gt=min(versions) - 1, lte=max(versions))
        found.update({(aggregate_id, version): p for version, p in known.items()})
    return [
        envelope(
            e, catalogue=app.catalogue, position=found.get((e.originator_id, e.originator_version))
        )
        for e in events
    ]


class StoredEvents(Sequence[Any]):
    """One aggregate's stored events as a sequence for a paginator: its length is the
    aggregate's version, and a slice is one read of that range of versions."""

    def __init__(self, app: EventSourcedApplication, aggregate_id: UUID, version: int):
        self.app, self.aggregate_id, self.version = app, aggregate_id, version

    def __len__(self) -> int:
        return self.version

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, step = index.indices(self.version)
        assert step == 1, "a page is a range of versions"
        return list(self.app.events.get(self.aggregate_id, gt=start, lte=stop))


def event_page(
    request: Request, view: APIView, app: EventSourcedApplication, aggregate: Any
) -> Response:
    """One page of ``aggregate``'s stored events, oldest first, with ``count``, ``next`` and
    ``previous`` as every list of the API has them."""
    paginator = Pagination()
    events: Any = StoredEvents(app, aggregate.id, aggregate.version)  # a list, to Django
    page: list[Any] | None = paginator.paginate_queryset(events, request, view=view)
    return paginator.get_paginated_response(published(app, page or ()))
