"""Finishing or compensating every saga a crash left mid-way (``recover_sagas``).

A saga's state is an event-sourced aggregate, so nothing is lost when a process dies between
two steps: the sagas that started and never ended are found and run to their end — forward,
or back through their compensations once their deadline has passed.
"""

from __future__ import annotations

from config.container import Container
from sagas.engine import Saga


def recover(container: Container, older_than: float, *, dry_run: bool = False) -> list[Saga]:
    """Run every unfinished saga older than ``older_than`` seconds to its end: transfers first,
    then order sagas (whose payments are transfers, so they find those already settled)."""
    if dry_run:
        ledger = container.ledger
        transfers: list[Saga] = [
            ledger.get_transfer(i) for i in ledger.unfinished_transfers(older_than)
        ]
        return transfers + list(container.orders.unfinished_sagas(older_than))
    return [
        *container.ledger.recover_transfers(older_than),
        *container.orders.recover_sagas(older_than),
    ]
