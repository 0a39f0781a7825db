"""Live updates composed: who each event concerns, asked of the context that published it, and
the one hub of this process (``messaging.live.Hub``), built from the settings on first use.

Each context says who its own events concern (``ledger/live.py``, ``orders/live.py``,
``customers/live.py``); the compliance context's events are for staff only, so it has nothing
to say. The contexts stay
independent: only this module knows all of them, as ``config/urls.py`` does their URLs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from django.conf import settings

from compliance.contract import COMPLIANCE_EVENTS
from customers import live as customers_live
from customers.contract import CUSTOMERS_EVENTS
from ledger import live as ledger_live
from ledger.contract import LEDGER_EVENTS
from messaging.connection import nats_url
from messaging.live import Hub
from messaging.stream import stream_settings
from orders import live as orders_live
from orders.contract import ORDERS_EVENTS

OWNERS: dict[str, Callable[[Mapping[str, Any]], frozenset[str]]] = {
    "ledger": ledger_live.owners,
    "orders": orders_live.owners,
    "customers": customers_live.owners,
}
KNOWN_OWNERS: dict[str, Callable[[Mapping[str, Any]], frozenset[str] | None]] = {
    "ledger": ledger_live.known_owners,
    "orders": orders_live.known_owners,
    "customers": customers_live.owners,  # it never needs to read anything
}
CATALOGUES = (LEDGER_EVENTS, ORDERS_EVENTS, COMPLIANCE_EVENTS, CUSTOMERS_EVENTS)
SOURCES = tuple(catalogue.source for catalogue in CATALOGUES)
EVENT_TYPES = frozenset(name for catalogue in CATALOGUES for name in catalogue.names)
STAFF_ONLY: frozenset[str] = frozenset()


def owners(envelopes: Sequence[Mapping[str, Any]]) -> list[frozenset[str]]:
    """Who each envelope concerns, as the context that published it says (reading its store if
    need be: called in a thread)."""
    return [OWNERS.get(str(e.get("source")), lambda _: STAFF_ONLY)(e) for e in envelopes]


def known_owners(envelope: Mapping[str, Any]) -> frozenset[str] | None:
    """Who ``envelope`` concerns, if its context knows without reading anything; else None."""
    return KNOWN_OWNERS.get(str(envelope.get("source")), lambda _: STAFF_ONLY)(envelope)


# One hub per event loop: a web worker runs one loop for its life; a test may run several.
_hubs: WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = WeakKeyDictionary()


def hub() -> Hub:
    """This process's hub (for the running event loop), made on first use."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub(
            url=nats_url,
            stream=stream_settings(),
            owners=owners,
            known_owners=known_owners,
            per_user=settings.LIVE_STREAMS_PER_USER,
            total=settings.LIVE_STREAMS_PER_WORKER,
        )
    return found


async def stop_hub() -> None:
    """Close the running loop's hub, if it has one (a web worker stopping)."""
    found = _hubs.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()
