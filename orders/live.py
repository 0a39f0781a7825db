"""Who each event the orders context publishes concerns, for live updates (``GET /api/live/``):
the customer whose order it is about. A customer sees its orders' events, their sagas' steps,
their payments and refunds, and the stock reserved, released or committed for them; the
catalogue's own events (a product made, stock added) are for staff. The envelope says who when
it carries it; otherwise the orders application does, read once: an order's customer never
changes, so it is remembered."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from uuid import UUID

from config.container import get_container
from orders.domain import Order
from orders.saga import OrderSaga

# Events whose aggregate is a product, and which name the order they hold stock for.
_STOCK_FOR_AN_ORDER = frozenset({"inventory.reserved", "inventory.released", "inventory.committed"})


def owners(envelope: Mapping[str, Any]) -> frozenset[str]:
    """The usernames ``envelope`` (one of the orders context's) concerns; none for an event only
    staff see."""
    event_type = str(envelope["type"])
    aggregate = event_type.rsplit(".", 1)[0]
    data = envelope.get("data") or {}
    subject = UUID(str(envelope["aggregate_id"]))
    try:
        if "customer" in data:  # an order's creation, a saga's start
            return frozenset({data["customer"]})
        if event_type in _STOCK_FOR_AN_ORDER:
            return frozenset({customer_of(UUID(data["order_id"]), Order)})
        if aggregate in ("order", "payment"):
            return frozenset({customer_of(subject, Order)})
        if aggregate in ("order_placement", "order_cancellation"):
            return frozenset({customer_of(subject, OrderSaga)})
    except LookupError:
        pass
    return frozenset()


@lru_cache(maxsize=10_000)
def customer_of(aggregate_id: UUID, kind: type[Order] | type[OrderSaga]) -> str:
    """The customer of an order or of an order's saga; ``LookupError`` when there is none
    (not remembered: only what exists is)."""
    found = get_container().orders.find(aggregate_id, kind)
    if found is None:
        raise LookupError(f"no {kind.__name__} {aggregate_id}")
    return str(found.customer)
