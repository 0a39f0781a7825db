"""Projection rows loaded by binary COPY on PostgreSQL.

Replaces: ``projections.projectors.insert_with_orm`` (``bulk_create(ignore_conflicts=True)``),
which builds a model per row and quotes every value into the statement's text in Python.

Why it is safe: the rows are COPYed (psycopg's C code) into a session temporary table with the
target's columns, then moved by one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (COPY itself
cannot skip a conflict) in the caller's transaction: the same rows land, the same conflicts are
skipped, and a value too long for its ``varchar(n)`` fails the load as it fails the insert.

What would break it: running the three statements outside one transaction (the staging table
empties at each commit: guarded below); another database (it falls back to the ORM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from django.db import connection, models, transaction

from projections.projectors import insert_with_orm, written_fields


def insert_by_copy(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """``projections.projectors.insert_new``'s work, by COPY on PostgreSQL."""
    if connection.vendor != "postgresql":
        insert_with_orm(model, rows)
        return
    load = bulk_load(model)
    connection.ensure_connection()
    # psycopg's own cursor on Django's connection (so in its transaction, its errors raised as
    # Django's): Django's cursor has no COPY. The staging table empties at each commit, so the
    # three statements need one transaction: the caller's, or one of their own in autocommit.
    with (
        transaction.atomic(savepoint=False),
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        cursor.execute(load.staging)
        with cursor.copy(load.copy) as copy:
            copy.set_types(load.types)
            for row in rows:
                copy.write_row([row[name] for name in load.names])
        cursor.execute(load.move)


@dataclass(frozen=True)
class BulkLoad:
    """The statements ``insert_new`` runs for one table, written once.

    The staging table is the session's own (``TEMP``), made by the first load on a connection
    and emptied after each (a transaction may load more than once). A transaction that rolls
    back takes the table's creation with it, so every load makes sure it exists. It has
    the target's column types, and so its checks: a string too long for its ``varchar(n)``
    fails the COPY instead of being cut."""

    names: list[str]  # the fields, in the order of the columns below
    types: list[str]  # their PostgreSQL types, for binary COPY
    staging: str  # make the staging table if this session has none
    copy: str  # load it
    move: str  # insert its rows that are new, and empty it (two statements, one round trip)


@cache
def bulk_load(model: type[models.Model]) -> BulkLoad:
    fields = written_fields(model)
    quote = connection.ops.quote_name
    table = model._meta.db_table
    target, staging = quote(table), quote(f"{table}_load")
    columns = ", ".join(quote(f.column) for f in fields)
    types = [
        "text" if isinstance(f, models.CharField) else str(f.db_type(connection)) for f in fields
    ]
    # Only quoted names go into these texts.
    make = f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS SELECT {columns}"
    insert = f"INSERT INTO {target} ({columns}) SELECT {columns}"
    return BulkLoad(
        names=[f.name for f in fields],
        types=types,
        staging=f"{make} FROM {target} WITH NO DATA",
        copy=f"COPY {staging} ({columns}) FROM STDIN (FORMAT BINARY)",
        move=f"{insert} FROM {staging} ON CONFLICT DO NOTHING; DELETE FROM {staging}",  # noqa: S608
    )
