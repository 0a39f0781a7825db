"""Every table of a PostgreSQL event store created one process at a time.

Processes that start together on a fresh database (the compose file's web workers, relay and
projectors) each create their store's tables if missing: the events table, the snapshots table
of a context that snapshots, and the insert function of ``tuning.recorder``. Run side by side,
``CREATE ... IF NOT EXISTS`` is not safe: both find a table missing, and the second to commit
fails on the catalog's unique index (``pg_type_typname_nsp_index``) or with "tuple concurrently
updated". So every recorder here creates its tables in one transaction that first takes an
advisory lock: the next process waits, then finds everything there.

The library's factory makes each recorder from a class attribute, so ``PostgresFactory`` below
names the two recorders an eventbank store has — its events and its snapshots — each the
library's own with this one change; ``config.stores`` points ``PERSISTENCE_MODULE`` at it. (The
library's tracking and process recorders stay its own: no store here has their tables, as the
projections keep their positions in Django's database.)
"""

from __future__ import annotations

from contextlib import suppress

from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresRecorder,
)
from eventsourcing.postgres import PostgresFactory as LibraryPostgresFactory
from psycopg.errors import DuplicateObject
from psycopg.sql import SQL, Literal

# The advisory lock that serialises table creation: above the 32-bit keys of the relay's locks
# (messaging/locks.py), so the two never meet.
CREATION_LOCK = Literal(0x6576656E7462616E)  # "eventban" in ASCII


class TablesUnderLock(PostgresRecorder):
    """The library's table creation, one process at a time.

    Put after a library recorder among the bases, so it takes the place of the library's
    ``PostgresRecorder.create_table`` and nothing else.

    The library runs each ``CREATE TYPE`` in a transaction of its own, as a type has no
    ``IF NOT EXISTS`` and one that exists aborts the transaction; here each runs in a savepoint
    instead, inside the locked transaction."""

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SELECT pg_advisory_xact_lock({key})").format(key=CREATION_LOCK))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    with suppress(DuplicateObject), curs.connection.transaction():
                        curs.execute(statement, prepare=False)
            self._create_table(curs)
        self.datastore.register_type_adapters()


class AggregateRecorder(PostgresAggregateRecorder, TablesUnderLock):
    """A store's snapshots (the library keeps an application's snapshots in one of these)."""


class ApplicationRecorder(PostgresApplicationRecorder, TablesUnderLock):
    """A store's events and their notification log."""


class PostgresFactory(LibraryPostgresFactory):
    """The library's PostgreSQL persistence, its recorders creating their tables under the lock.

    ``APPLICATION_RECORDER_TOPIC`` still chooses the events recorder (``config.stores`` names
    ``tuning.recorder.OneRoundTripRecorder``, itself an ``ApplicationRecorder`` of this module)."""

    aggregate_recorder_class = AggregateRecorder
    application_recorder_class = ApplicationRecorder
