"""Finishing or compensating every saga a crash left mid-way, and expiring holds nobody settled
in time (``recover_sagas``).

A saga's state is an event-sourced aggregate, so nothing is lost when a process dies between
two steps: the sagas that started and never ended are found and run to their end — forward,
or back through their compensations once their deadline has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from config.container import Container
from ledger.holds import Hold
from sagas.engine import Saga


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
