"""The events the orders context publishes (see ``kernel.events``)."""

from __future__ import annotations

from kernel.events import EventCatalogue

ORDERS_EVENTS = EventCatalogue("orders", {})
