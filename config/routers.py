"""The database router of a deployment with a read replica (``DATABASE_REPLICA_URL``).

What a client reads of the projections — the REST lists and order reads, the ``min_position``
waits, GraphQL's queries — runs in an ``api.consistency.reading_projections()`` scope; its
queries of read models (the ``projections`` app and the subscribers' positions) go to the
streaming standby. Everything else goes to the primary: every write, the subscribers' own reads
while they apply events (they must see what they are about to change, not a copy that lags),
the positions they write, auth, sessions, idempotency keys, throttles and migrations.

When the standby does not answer, reads go to the primary for ``REPLICA_RETRY_SECONDS`` and the
standby is tried again after that: a bank's customer should still see their accounts while a
standby restarts (docs/decisions/0010-read-replicas.md).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model

from api.consistency import projection_reads

logger = logging.getLogger(__name__)

REPLICA = "replica"
# Read models: written only by their subscribers, so a standby's copy is as good as the
# primary's, only later. A subscriber's position is one of them: a read with min_position
# compares it with the rows read beside it, on the same database.
READ_MODEL_APPS = frozenset({"projections"})
READ_MODELS = frozenset({"messaging.subscriberposition"})

_replica_away_until = 0.0  # monotonic time; per process, shared by its threads


def is_read_model(model: type[Model]) -> bool:
    meta = model._meta
    return meta.app_label in READ_MODEL_APPS or meta.label_lower in READ_MODELS


def replica_answers() -> bool:
    """Whether the replica takes queries now: its connection in this thread is open and, once
    per request, healthy (Django's own health check). A replica that failed is left alone for
    ``REPLICA_RETRY_SECONDS``, so only one read in that time pays for trying it."""
    global _replica_away_until
    if time.monotonic() < _replica_away_until:
        return False
    connection = connections[REPLICA]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError as exc:
        _replica_away_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        logger.warning(
            "read replica unavailable, reading from the primary for %g s: %s",
            settings.REPLICA_RETRY_SECONDS,
            exc,
        )
        return False
    return True


class ReplicaRouter:
    """Django's router protocol: a client's reads of read models to the replica while it
    answers; everything else to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        reads = projection_reads()
        if reads is None or not is_read_model(model):
            return DEFAULT_DB_ALIAS
        if reads.alias is None:  # the read's first query decides, for all of it
            reads.alias = REPLICA if replica_answers() else DEFAULT_DB_ALIAS
        return reads.alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS  # a standby takes no writes

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # one database and its copy: every row exists on both

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        return db == DEFAULT_DB_ALIAS  # the standby replays the primary's schema
