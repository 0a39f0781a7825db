"""Who each event the orders context publishes concerns, for live updates (``GET /api/live/``):
the customer whose order it is about. A customer sees its orders' events, their sagas' steps,
their payments and refunds, and the stock reserved, released or committed for them; the
catalogue's own events (a product made, stock added) are for staff.

The envelope says who when it carries it (an order's creation, a saga's start, which names its
order); an order's customer never changes, so what those first events said is remembered, by
the order's id and its saga's, for the events that follow. So ``known_owners`` answers most
events without any I/O, on the event loop, and ``owners`` reads the orders store only for an
order that began before the process was listening.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from config.container import get_container
from orders.domain import Order
from orders.saga import OrderSaga

# Events whose aggregate is a product, and which name the order they hold stock for.
_STOCK_FOR_AN_ORDER = frozenset({"inventory.reserved", "inventory.released", "inventory.committed"})
# An order's or an order saga's customer, by its id. Read by the hub (on its event loop and in a
# thread) and by streams catching up, at once.
_CUSTOMERS: LRUCache[UUID, str] = LRUCache(maxsize=100_000)
_LOCK = threading.Lock()


class NotRemembered(LookupError):
    """Knowing it would take a read of the store."""


def owners(envelope: Mapping[str, Any]) -> frozenset[str]:
    """The usernames ``envelope`` (one of the orders context's) concerns, reading the store if
    need be; none for an event only staff see."""
    return _owners(envelope, read=True)


def known_owners(envelope: Mapping[str, Any]) -> frozenset[str] | None:
    """``owners``, if it is known without reading anything; else None."""
    try:
        return _owners(envelope, read=False)
    except NotRemembered:
        return None


def _owners(envelope: Mapping[str, Any], *, read: bool) -> frozenset[str]:
    event_type = str(envelope["type"])
    aggregate = event_type.rsplit(".", 1)[0]
    data = envelope.get("data") or {}
    subject = UUID(str(envelope["aggregate_id"]))
    if "customer" in data:  # an order's creation, a saga's start (which names its order)
        with _LOCK:
            _CUSTOMERS[subject] = data["customer"]
            if "order_id" in data:
                _CUSTOMERS[UUID(data["order_id"])] = data["customer"]
        return frozenset({data["customer"]})
    try:
        if event_type in _STOCK_FOR_AN_ORDER:
            return frozenset({customer_of(UUID(data["order_id"]), Order, read=read)})
        if aggregate in ("order", "payment"):
            return frozenset({customer_of(subject, Order, read=read)})
        if aggregate in ("order_placement", "order_cancellation", "order_shipment"):
            return frozenset({customer_of(subject, OrderSaga, read=read)})
    except NotRemembered:
        raise
    except LookupError:
        pass
    return frozenset()


def customer_of(aggregate_id: UUID, kind: type[Order] | type[OrderSaga], *, read: bool) -> str:
    """The customer of an order or of an order's saga: remembered, or (with ``read``) read and
    remembered; ``LookupError`` when there is none."""
    with _LOCK:
        known = _CUSTOMERS.get(aggregate_id)
    if known is None:
        if not read:
            raise NotRemembered(aggregate_id)
        found = get_container().orders.find(aggregate_id, kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} {aggregate_id}")
        known = str(found.customer)
        with _LOCK:
            _CUSTOMERS[aggregate_id] = known
    return known
