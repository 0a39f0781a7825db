"""One relay per source at a time: a PostgreSQL advisory lock, or a file lock beside SQLite.

Two relays publishing one source would each be correct alone and together could interleave
windows out of order. The lock makes the second relay a standby: it waits, and takes over when
the first one's session (or process) ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from pathlib import Path
from typing import Any, Protocol

import psycopg


class Lock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class FileLock:
    """flock(2): released by the kernel when the process dies, however it dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def still_held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None


class AdvisoryLock:
    """pg_try_advisory_lock on a session of its own: released when that session ends, so a
    killed relay frees its source at once, and a PostgreSQL restart frees it too (which the
    holder notices in ``still_held`` before it publishes again)."""

    def __init__(self, conninfo: dict[str, Any], name: str) -> None:
        self.conninfo = conninfo
        self.key = zlib.crc32(name.encode())  # a stable 32-bit key for the name
        self.conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        self.release()
        conn = psycopg.connect(**self.conninfo, autocommit=True, connect_timeout=5)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self.conn = conn
        return True

    def still_held(self) -> bool:
        if self.conn is None:
            return False
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
            self.conn = None


def lock_for(name: str) -> Lock:
    """The lock for ``name`` where the relay keeps its positions (Django's database)."""
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    # By vendor, not by ENGINE: a backend of Django's PostgreSQL one (the tuned) is PostgreSQL.
    if connections["default"].vendor == "postgresql":
        conninfo = {
            "host": database.get("HOST") or "127.0.0.1",
            "port": database.get("PORT") or 5432,
            "dbname": database["NAME"],
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
        }
        return AdvisoryLock(conninfo, f"eventbank:{name}")
    return FileLock(Path(settings.DATA_DIR) / "locks" / f"{name}.lock")
