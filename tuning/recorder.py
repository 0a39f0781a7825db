"""The PostgreSQL store's insert as one call of a server-side function; its statements on the
request path as texts rendered once, on a cursor each connection keeps.

Replaces: the library's ``PostgresApplicationRecorder`` insert and reads. To keep notification
ids in commit order, the library takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` before each insert
and holds it until the commit, so commits into one store are serial and the time the lock is
held bounds the store's write rate. Its recorder holds the lock across two round trips: it
sends the lock and the insert, waits for the insert's result, and only then sends COMMIT;
between the two, the lock waits on a client thread that must get the GIL back. And psycopg
renders a composed statement anew on each execute, and works out each list parameter's
element type from its items.

Why it is safe: the same statements, in one function created with the table (under
``config.tables``' lock): it sets the lock timeout, takes the same table lock, notifies
listeners and inserts; the call is the whole of its transaction (the connection is in
autocommit), so the server commits as soon as the function returns: same lock, same order,
held only while the server works. A conflict (the same aggregate version written twice) fails
the call, which rolls back all of it, and is raised as the library's recorder raises it
(``eventsourcing.persistence.IntegrityError``). The events travel as four typed arrays in
PostgreSQL's binary format (``BinaryArray``), and the insert and the read of an aggregate's
events are plain texts psycopg parses once, on the connection's own cursor
(``reused_cursor``), which keeps its adapters.

What would break it: a library release that changes its table's columns or its insert's
statements (the function is written from them); the library's own function
(``POSTGRES_ENABLE_DB_FUNCTIONS``), which takes no table lock — ids could commit out of order —
and is named per schema, not per table, so contexts sharing a schema would all insert into
whichever table created it last: never enable it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from itertools import product
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Connection, Cursor
from psycopg.adapt import Dumper
from psycopg.postgres import types
from psycopg.pq import Format
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from config.tables import ApplicationRecorder


class OneRoundTripRecorder(ApplicationRecorder):
    """``PostgresApplicationRecorder`` whose insert is one call of a server-side function, and
    whose statements on the request path are texts rendered once (its tables, the function's
    included, created under ``config.tables``' lock)."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        names = {
            "schema": Identifier(datastore.schema),
            "table": Identifier(self.events_table_name),
            # One function per table: contexts may share a schema.
            "insert": Identifier(f"{self.events_table_name}_insert"),
            "id_type": Identifier(datastore.originator_id_type),
            "channel": Identifier(self.channel_name),
            "lock_timeout": Literal(f"{datastore.lock_timeout}s"),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{insert}("
                "ids {id_type}[], versions bigint[], topics text[], states bytea[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $$ "
                "BEGIN "
                "  PERFORM set_config('lock_timeout', {lock_timeout}, true); "
                "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "  NOTIFY {channel}; "
                "  RETURN QUERY INSERT INTO {schema}.{table} "
                "    (originator_id, originator_version, topic, state) "
                "    SELECT * FROM unnest(ids, versions, topics, states) "
                "    RETURNING notification_id; "
                "END $$"
            ).format(**names)
        )
        self.ids_array: type[BinaryArray] = (
            Uuids if datastore.originator_id_type == "uuid" else Texts
        )
        self.insert_call = render(
            SQL(
                "SELECT notification_id FROM {schema}.{insert}(%b, %b, %b, %b) AS notification_id"
            ).format(**names)
        )
        select = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = %s"
        ).format(**names)
        self.select_many_after = render(
            SQL(
                # LATERAL: each aggregate's events are an index range; a plain join of the
                # unnest is planned as a hash join over the whole table once it is large.
                "SELECT e.originator_id, e.originator_version, e.topic, e.state "
                "FROM unnest(%b, %b) AS a(id, version) CROSS JOIN LATERAL ("
                "  SELECT * FROM {schema}.{table} "
                "  WHERE originator_id = a.id AND originator_version > a.version "
                "  ORDER BY originator_version"
                ") e"
            ).format(**names)
        )
        self.selects = {  # (gt, lte, desc, limit given) -> the read's text
            shape: render(events_read(select, *shape)) for shape in product((False, True), repeat=4)
        }

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        columns = (
            self.ids_array(e.originator_id for e in stored_events),
            Bigints(e.originator_version for e in stored_events),
            Texts(e.topic for e in stored_events),
            Byteas(e.state for e in stored_events),
        )
        with self.datastore.get_connection() as conn:
            curs = reused_cursor(conn)
            curs.execute(self.insert_call, columns, prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_after(self, versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """The events of many aggregates after the versions given, in one query, by id."""
        after: dict[UUID, list[StoredEvent]] = {i: [] for i in versions}
        if not versions:
            return after
        with self.datastore.get_connection() as conn:
            curs = reused_cursor(conn)
            curs.execute(
                self.select_many_after,
                (self.ids_array(versions), Bigints(versions.values())),
                prepare=True,
            )
            for row in curs.fetchall():
                after[row["originator_id"]].append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        return after

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's read of one aggregate's events, from a text rendered once."""
        statement = self.selects[gt is not None, lte is not None, desc, limit is not None]
        params = [originator_id, *(v for v in (gt, lte, limit) if v is not None)]
        with self.datastore.get_connection() as conn:
            curs = reused_cursor(conn)
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


_CURSOR = "_eventbank_cursor"


def reused_cursor(conn: Connection[DictRow]) -> Cursor[DictRow]:
    """The connection's own cursor, made on its first statement and kept on the connection (so
    the two go together when the pool retires the connection). A pool lends a connection to one
    thread at a time, and its cursor with it.

    The connection's session also turns PostgreSQL's JIT off. The store's statements are short
    reads and writes that JIT compilation (tens of milliseconds) never pays for, and the planner
    turns it on by estimated cost: once the table is large, a read of many aggregates' events
    (``select_events_after``) was compiled on every call."""
    cursor: Cursor[DictRow] | None = getattr(conn, _CURSOR, None)
    if cursor is None or cursor.closed:
        cursor = conn.cursor()
        for array in BINARY_ARRAYS:
            cursor.adapters.register_dumper(array, array.dumper)
        cursor.execute("SET jit = off")
        setattr(conn, _CURSOR, cursor)
    return cursor


class BinaryArray(list[Any]):
    """A list sent as a one-dimensional array in PostgreSQL's binary format, its element type
    fixed by the subclass (psycopg's own list dumper works it out from the items on every
    execute)."""

    element: ClassVar[str]  # the PostgreSQL type of the items
    dumper: ClassVar[type[Dumper]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        info = types.get(cls.element)
        assert info is not None, cls.element
        cls.dumper = type(
            f"{cls.__name__}Dumper",
            (BinaryArrayDumper,),
            {"oid": info.array_oid, "element": cls.element, "element_oid": info.oid},
        )


def _uuid_bytes(value: UUID | str) -> bytes:
    return (value if isinstance(value, UUID) else UUID(value)).bytes


# One item in its type's binary format.
ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "uuid": _uuid_bytes,
    "int8": struct.Struct("!q").pack,
    "text": lambda value: str(value).encode(),
    "bytea": bytes,
}


class BinaryArrayDumper(Dumper):
    format = Format.BINARY
    element: ClassVar[str]
    element_oid: ClassVar[int]

    def dump(self, obj: BinaryArray) -> bytes:
        encode = ENCODERS[self.element]
        items = [encode(item) for item in obj]
        # dimensions, has-nulls flag, element type; the one dimension's length and lower bound
        header = struct.pack("!iiIii", 1, 0, self.element_oid, len(items), 1)
        return header + b"".join(struct.pack("!i", len(item)) + item for item in items)


class Uuids(BinaryArray):
    element = "uuid"


class Bigints(BinaryArray):
    element = "int8"


class Texts(BinaryArray):
    element = "text"


class Byteas(BinaryArray):
    element = "bytea"


BINARY_ARRAYS = (Uuids, Bigints, Texts, Byteas)


def events_read(select: Composed, gt: bool, lte: bool, desc: bool, limit: bool) -> Composed:
    """The read of one aggregate's events, as the library writes it for these arguments."""
    statement = select
    if gt:
        statement += SQL(" AND originator_version > %s")
    if lte:
        statement += SQL(" AND originator_version <= %s")
    statement += SQL(
        " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version"
    )
    if limit:
        statement += SQL(" LIMIT %s")
    return statement


def render(statement: Composable) -> str:
    """A composed statement as plain text. psycopg renders a ``sql.Composed`` anew on every
    execute (identifiers quoted, parts joined); a text it parses once and caches.
    The library composes its reads on every call, its fixed statements when it is made."""
    return statement.as_string()
