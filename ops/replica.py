"""How far the read replica (``DATABASE_REPLICA_URL``) is behind its primary: ``/healthz`` and
the positions page show it.

The standby is asked first what it has replayed, then the primary what it has written, so the
gap is never understated. ``lag_bytes`` is the WAL between the two; ``lag_seconds`` is 0 when
the standby has replayed everything, else the age of the last transaction it replayed (the
primary's commit time, against the standby's clock): under a steady load, how old its reads are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from config.routers import REPLICA, replica_answers


@dataclass(frozen=True)
class ReplicaState:
    ok: bool
    reads_from: str  # where this process sends a client's projection reads now
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    replayed_at: datetime | None = None  # the primary's commit time of the last one replayed
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": self.ok,
            "reads_from": self.reads_from,
            "lag_seconds": self.lag_seconds,
            "lag_bytes": self.lag_bytes,
        }
        if self.error:
            body["error"] = self.error
        return body


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_state() -> ReplicaState:
    """The replica's lag now, or why it cannot be had (the standby, or the primary, is down;
    or the database named is no standby)."""
    try:
        seconds, lag_bytes, replayed_at = _lag()
    except Exception as exc:  # whatever the driver raises: reported, not raised
        reads_from = "replica" if replica_answers() else "primary"
        return ReplicaState(False, reads_from, error=f"{type(exc).__name__}: {exc}"[:500])
    reads_from = "replica" if replica_answers() else "primary"
    ok = seconds is not None and seconds <= settings.MAX_REPLICA_LAG_SECONDS
    return ReplicaState(ok, reads_from, seconds, lag_bytes, replayed_at)


def _lag() -> tuple[float | None, int, datetime | None]:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
            " pg_last_xact_replay_timestamp(), now()"
        )
        standby, replayed, replayed_at, now = cursor.fetchone()
    if not standby:
        raise RuntimeError("it is not a standby: pg_is_in_recovery() is false")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [replayed])
        (behind,) = cursor.fetchone()
    lag_bytes = max(int(behind), 0)
    if lag_bytes == 0:
        return 0.0, 0, replayed_at
    if replayed_at is None:  # nothing replayed since the standby started: its age is unknown
        return None, lag_bytes, None
    return max((now - replayed_at).total_seconds(), 0.0), lag_bytes, replayed_at
