"""Django's PostgreSQL backend, whose health check costs no round trip on a healthy connection.

Replaces: ``DatabaseWrapper.is_usable`` of Django's PostgreSQL backend, which with
``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first query of every request that reuses a
connection, to notice one the server has closed (a restart, a terminated backend, a server that
died).

Why it is safe: each of those leaves something to read on the connection's socket: the server's
last message (a FATAL error), or the end of the stream. An idle connection with nothing to read
has not been closed, so this looks at the socket without waiting, and only when something is
there, or the connection is not idle, lets Django's ``SELECT 1`` decide.

What would break it: nothing the ``SELECT 1`` would catch in time: a peer that vanished without
a word (a cable cut) keeps the request's own query waiting as long as it would keep the check.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE and not _readable(
            connection.fileno()
        ):
            return True
        return bool(super().is_usable())


def _readable(fd: int) -> bool:
    """Whether the socket has something to read, asked without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
