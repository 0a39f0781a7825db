"""Projection throughput beside its anchor, measured in one run on one private nats-server.

    projector   events/s the live ``transactions`` projector applies from the stream (fetch,
                decode, fold, one bulk INSERT and one position write per batch of 500)
    rebuild     seconds to rebuild ``transactions`` from the stream into a shadow table and
                swap it in (``rebuild_projection transactions``), and from the event stores
    executemany the same rows inserted by the database driver's own executemany into a twin of
                the live table (same key, constraint and indexes): the floor
                under any projector that writes rows

Run: .venv/bin/python -m bench.projections [--events N]   (see bench/environment.py)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from bench.environment import prepare

prepare()


from bench.messaging import fill_store  # noqa: E402
from config.container import build_container  # noqa: E402
from messaging.embedded import NatsServer  # noqa: E402
from messaging.runtime import relay_events, run_subscribers  # noqa: E402
from projections.models import LedgerEntry  # noqa: E402
from projections.rebuild import rebuild  # noqa: E402

SCRATCH = "bench_entries"


def projected_rows() -> tuple[list[str], list[tuple[Any, ...]]]:
    """The ``transactions`` rows as the database stores them (columns, values), serial key
    left out: what an anchor writes again."""
    fields = [f for f in LedgerEntry._meta.local_fields if not f.primary_key]
    rows = LedgerEntry.objects.values_list(*[f.attname for f in fields])
    values = [
        tuple(f.get_db_prep_value(v, connection) for f, v in zip(fields, row, strict=True))
        for row in rows
    ]
    return [f.column for f in fields], values


def _scratch_table(columns: list[str], *, twin: bool = True) -> None:
    """An empty table for the anchors to fill. On PostgreSQL, the live table's twin: its key,
    unique constraint and indexes are paid by every write into ``transactions``, the projector's
    included, so an anchor that skipped them would measure a cheaper write than the one any
    projector must make (into a bare copy, the same rows go in about twice as fast: ``twin=False``
    measures that, for comparison). SQLite has no ``LIKE``: there the columns alone."""
    table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        if twin and connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {SCRATCH} (LIKE {table} INCLUDING ALL)")
        else:
            cursor.execute(f"CREATE TABLE {SCRATCH} AS SELECT {', '.join(columns)} "  # noqa: S608
                           f"FROM {table} WHERE 1 = 0")  # fmt: skip


def executemany_anchor(*, twin: bool = True) -> tuple[str, float, int]:
    """The projected rows inserted again by the driver's executemany, in one transaction (as a
    projector's batch is): (anchor name, seconds, rows)."""
    columns, values = projected_rows()
    _scratch_table(columns, twin=twin)
    insert = (
        f"INSERT INTO {SCRATCH} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        with transaction.atomic():
            cursor.executemany(insert, values)
        seconds = time.perf_counter() - started
        cursor.execute(f"DROP TABLE {SCRATCH}")
    return f"raw executemany, {'indexed twin' if twin else 'bare table'}", seconds, len(values)


def copy_anchor() -> tuple[str, float]:
    """The same rows by COPY (PostgreSQL's fastest load); SQLite has none: executemany there."""
    if connection.vendor != "postgresql":
        name, seconds, _ = executemany_anchor()
        return f"{name} (SQLite has no COPY)", seconds
    columns, values = projected_rows()
    _scratch_table(columns)
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    started = time.perf_counter()
    load = f"COPY {SCRATCH} ({', '.join(columns)}) FROM STDIN"
    with transaction.atomic(), raw.cursor() as cursor, cursor.copy(load) as copy:
        for row in values:
            copy.write_row(row)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCRATCH}")
    return "raw COPY, indexed twin", seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    container = build_container(settings.EVENT_STORE_URLS)
    with NatsServer(Path(settings.DATA_DIR) / "nats-bench-projections") as server:
        settings.NATS_URL = server.url
        fill_store(container, args.events)
        events = container.ledger.max_position()
        asyncio.run(
            relay_events(container.applications, server.url, once=True, stop=asyncio.Event())
        )

        started = time.perf_counter()
        [subscriber] = asyncio.run(
            run_subscribers(["projection:transactions"], server.url, once=True)
        )
        projector_seconds = time.perf_counter() - started
        projected = subscriber.stats.applied

        from_stream = rebuild("transactions", container.applications, nats_url=server.url)
        from_store = rebuild("transactions", container.applications, source="store")
        _, raw_seconds, rows = executemany_anchor()
        _, bare_seconds, _ = executemany_anchor(twin=False)
    container.close()

    print(f"{events:,} ledger events ({projected:,} entries), {connection.vendor} database")
    print(f"{'figure':<22}{'value':>14}   {'anchor':<22}{'value':>14}   ratio")
    raw_rate = rows / raw_seconds
    lines = [
        ("projector", projected / projector_seconds, "events/s", raw_rate, "rows/s"),
        ("rebuild (stream)", from_stream.seconds, "s", raw_seconds, "s"),
        ("rebuild (store)", from_store.seconds, "s", raw_seconds, "s"),
    ]
    for name, value, unit, anchor, anchor_unit in lines:
        ratio = value / anchor if unit.endswith("/s") else anchor / value
        print(
            f"{name:<22}{value:>10,.1f} {unit:<3}   {'executemany':<22}"
            f"{anchor:>10,.1f} {anchor_unit:<3}   {ratio:.2f}"
        )
    bare_rate = rows / bare_seconds
    print(f"(executemany into a bare copy, no key or index: {bare_rate:,.1f} rows/s)")


if __name__ == "__main__":
    main()
