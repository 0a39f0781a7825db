"""Where a benchmark runs, decided before Django starts: a fresh PostgreSQL database on the
server ``DATABASE_URL`` names (or on the local server), SQLite only where there is no server,
a data directory of its own, and the bench's settings (``bench/settings.py``). Every bench
module calls ``prepare()`` first.

``EVENTBANK_BENCH_DATABASE`` names that database (default ``eventbank_bench``): two people
benchmarking on one server would otherwise drop each other's database mid-run."""

from __future__ import annotations

import os
import tempfile

import psycopg

# The production settings with the bench's plain-Django peer installed (bench/settings.py),
# for this process and every process the bench starts.
SETTINGS = "bench.settings"
BENCH_DATABASE = os.environ.get("EVENTBANK_BENCH_DATABASE", "eventbank_bench")
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
_prepared = False


def postgres_server() -> str | None:
    """The server to measure on: DATABASE_URL's, else the local one if it answers."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return url
    try:
        psycopg.connect(LOCAL_SERVER, connect_timeout=2).close()
    except psycopg.Error:
        return None
    return LOCAL_SERVER


def fresh_database(server: str, name: str) -> str:
    """Drop and create ``name`` on ``server``; its URL. The caller's own database is never
    written: figures come from an empty database every run."""
    base = server.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def prepare() -> str:
    """Set the environment, set Django up and migrate; return the database's vendor."""
    global _prepared
    if not _prepared:
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
        os.environ["EVENTBANK_DATA_DIR"] = tempfile.mkdtemp(prefix="eventbank-bench-")
        os.environ.setdefault("EVENTBANK_BEHIND_TLS", "0")
        for name in ("LEDGER", "ORDERS", "COMPLIANCE"):
            os.environ.pop(f"{name}_EVENTSTORE_URL", None)  # alongside the bench database
        server = postgres_server()
        if server:
            os.environ["DATABASE_URL"] = fresh_database(server, BENCH_DATABASE)
        else:
            os.environ.pop("DATABASE_URL", None)

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        _prepared = True
    from django.db import connection

    return connection.vendor
