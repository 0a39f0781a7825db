"""The orders context's application, on its own event store."""

from __future__ import annotations

from kernel.application import EventSourcedApplication
from orders.contract import ORDERS_EVENTS


class OrdersApplication(EventSourcedApplication):
    name = "orders"
    catalogue = ORDERS_EVENTS
