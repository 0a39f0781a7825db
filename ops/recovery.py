"""Finishing or compensating every saga a crash left mid-way, and expiring holds nobody settled
in time (``recover_sagas``).

A saga's state is an event-sourced aggregate, so nothing is lost when a process dies between
two steps: the sagas that started and never ended are found and run to their end — forward,
or back through their compensations once their deadline has passed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import close_old_connections

from config.container import Container
from ledger.holds import Hold
from messaging.lifecycle import DATABASE_UNAVAILABLE
from sagas.engine import Saga

logger = logging.getLogger(__name__)


def keep_recovering(
    container: Callable[[], Container],
    older_than: float,
    *,
    every: float | None,
    stop: threading.Event,
    dry_run: bool = False,
    report: Callable[[Saga | Hold], None] = lambda _: None,
) -> None:
    """One round of ``recover`` — or, with ``every``, a round every ``every`` seconds until
    ``stop`` is set, as the saga-recovery service runs. A repeated round that meets the database
    restarting or out of reach is skipped with a warning: what it did not recover, the next
    round finds in the stores, as after a crash."""
    while True:
        try:
            recovered = recover(container(), older_than, dry_run=dry_run)
        except DATABASE_UNAVAILABLE as exc:
            if every is None:
                raise
            logger.warning("recover_sagas: %s: %s; trying again in %s s",
                           type(exc).__name__, exc, every)  # fmt: skip
            close_old_connections()  # Django's, which would otherwise stay broken
            recovered = []
        for saga in recovered:
            report(saga)
        if every is None or stop.wait(every):
            return


def recover(container: Container, older_than: float, *, dry_run: bool = False) -> list[Saga | Hold]:
    """Run every unfinished saga older than ``older_than`` seconds to its end: transfers first,
    then order sagas — placements, cancellations, shipments — whose payments are the ledger's
    (an order paid by transfer before holds finds its transfers settled); and then expire every
    hold past its expiry, once the order sagas have placed, captured or voided theirs."""
    ledger = container.ledger
    if dry_run:
        transfers: list[Saga | Hold] = [
            ledger.get_transfer(i) for i in ledger.unfinished_transfers(older_than)
        ]
        now = datetime.now(UTC)
        due = [h for h in map(ledger.get_hold, ledger.pending_hold_ids()) if h.is_due(now)]
        return [*transfers, *container.orders.unfinished_sagas(older_than), *due]
    return [
        *ledger.recover_transfers(older_than),
        *container.orders.recover_sagas(older_than),
        *ledger.expire_holds(),
    ]
