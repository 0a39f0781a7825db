"""Event store URLs, turned into the environment ``eventsourcing`` reads.

``sqlite:///path/to/ledger.sqlite3`` — one SQLite file per context (SQLite names every table
``stored_events``, so contexts sharing a file would share a log).
``postgresql://user:pass@host:5432/db?schema=name`` — the context's tables are
``<context>_events`` in that database (and schema), so contexts may share a database or not.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in POSTGRES_SCHEMES


def eventstore_env(url: str, *, tuning: Collection[str] = ()) -> dict[str, str]:
    """The ``eventsourcing`` environment for one store URL (with the tuned recorder on
    PostgreSQL when ``tuning`` names it)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:////absolute/path keeps one leading slash; sqlite:///relative/path keeps none.
        path = path.removeprefix("/")
        if not path or path == ":memory:":
            raise ImproperlyConfigured(f"An event store needs a SQLite file, not {url!r}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "20",
        }
    if parts.scheme in POSTGRES_SCHEMES:
        query = parse_qs(parts.query)
        env = {
            # The library's PostgreSQL persistence, every table created under one lock.
            "PERSISTENCE_MODULE": "config.tables:PostgresFactory",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Per application, per process: six processes (and each web worker) each hold a pool
            # per store, and together they must fit the server's max_connections (100 by
            # default). Eight is more than a web worker's four threads need.
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["2"])[0],
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["6"])[0],
            # The store's insert lock serialises writers; waiting longer than this is a fault.
            "POSTGRES_LOCK_TIMEOUT": "10",
        }
        if "recorder" in tuning:
            env["APPLICATION_RECORDER_TOPIC"] = "tuning.recorder:OneRoundTripRecorder"
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    raise ImproperlyConfigured(
        f"Unsupported event store URL {url!r}: use sqlite:///file or postgresql://..."
    )
