"""Projection throughput beside its anchor, measured in one run on one private nats-server.

    projector   events/s the live ``transactions`` projector applies from the stream (fetch,
                decode, fold, one bulk INSERT and one position write per batch of 500)
    rebuild     seconds to rebuild ``transactions`` from the stream into a shadow table and
                swap it in (``rebuild_projection transactions``), and from the event stores
    executemany the same rows inserted by the database driver's own executemany: the floor
                under any projector that writes rows

Run: .venv/bin/python -m bench.projections [--events N]   (DATABASE_URL picks PostgreSQL)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from bench.messaging import fill_store  # sets Django up, as every bench does
from config.container import build_container
from messaging.embedded import NatsServer
from messaging.management.commands.relay_events import relay_events
from messaging.management.commands.run_subscriber import run_subscribers
from projections.models import LedgerEntry
from projections.rebuild import rebuild


def executemany_seconds() -> tuple[int, float]:
    """Copy the projected rows into a scratch table with one executemany; (rows, seconds)."""
    fields = [f for f in LedgerEntry._meta.local_fields if not f.primary_key]
    columns = [f.column for f in fields]
    rows = list(LedgerEntry.objects.values_list(*[f.attname for f in fields]))
    values = [
        tuple(f.get_db_prep_value(v, connection) for f, v in zip(fields, row, strict=True))
        for row in rows
    ]
    scratch = "bench_executemany"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
        cursor.execute(f"CREATE TABLE {scratch} AS SELECT {', '.join(columns)} FROM "  # noqa: S608
                       f"{LedgerEntry._meta.db_table} WHERE 1 = 0")  # fmt: skip
        insert = (
            f"INSERT INTO {scratch} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        started = time.perf_counter()
        with transaction.atomic():  # one transaction, as a projector's batch is
            cursor.executemany(insert, values)
        seconds = time.perf_counter() - started
        cursor.execute(f"DROP TABLE {scratch}")
    return len(values), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    container = build_container(settings.EVENT_STORE_URLS)
    with NatsServer(Path(settings.DATA_DIR) / "nats-bench-projections") as server:
        settings.NATS_URL = server.url
        fill_store(container, args.events)
        events = container.ledger.max_position()
        asyncio.run(relay_events(container, server.url, once=True, stop=asyncio.Event()))

        started = time.perf_counter()
        [subscriber] = asyncio.run(
            run_subscribers(["projection:transactions"], server.url, once=True)
        )
        projector_seconds = time.perf_counter() - started
        projected = subscriber.stats.applied

        from_stream = rebuild("transactions", container.applications, nats_url=server.url)
        from_store = rebuild("transactions", container.applications, source="store")
        rows, raw_seconds = executemany_seconds()
    container.close()

    database = connection.vendor
    print(f"{events:,} ledger events ({projected:,} entries), {database} database")
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


if __name__ == "__main__":
    main()
