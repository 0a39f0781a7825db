"""The orders context's published events: every class named, the published names present, and
amounts — nested ones included — published as decimal strings while quantities stay numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest

from kernel.events import EventCatalogue, envelope, published
from orders.contract import ORDERS_EVENTS
from orders.domain import Order, Product
from orders.saga import OrderCancellation, OrderPlacement
from tests.unit.test_envelope import event_classes

API_MD_ORDERS_NAMES = {
    "order.created", "order.confirmed", "order.shipped", "order.cancelled",
    "inventory.reserved", "inventory.released", "payment.processed", "payment.refunded",
}  # fmt: skip


@pytest.mark.parametrize("aggregate", [Product, Order, OrderPlacement, OrderCancellation])
def test_every_orders_event_class_has_a_public_name(aggregate: type) -> None:
    named = {c.__qualname__ for c in ORDERS_EVENTS.classes}
    assert {c.__qualname__ for c in event_classes(aggregate)} <= named


def test_the_orders_context_publishes_at_least_the_names_api_md_promises() -> None:
    assert ORDERS_EVENTS.names >= API_MD_ORDERS_NAMES


def test_an_order_created_publishes_item_prices_and_total_as_amounts() -> None:
    items = [{"sku": "A", "quantity": 3, "price": 150}, {"sku": "B", "quantity": 1, "price": 5}]
    order = Order(id=uuid4(), customer="alice", account=uuid4(), items=items, total=455,
                  currency="EUR")  # fmt: skip
    (created,) = order.collect_events()
    data = envelope(created, catalogue=ORDERS_EVENTS, position=7)["data"]
    assert data["total"] == "4.55"
    assert data["items"] == [
        {"sku": "A", "quantity": 3, "price": "1.50"},
        {"sku": "B", "quantity": 1, "price": "0.05"},
    ]


class Happened:
    """A stand-in event: the envelope reads only its attributes."""

    def __init__(self, **state: Any) -> None:
        vars(self).update(
            originator_id=uuid4(), originator_version=1, timestamp=datetime(2026, 1, 1), **state
        )


def test_a_dotted_money_path_reaches_into_mappings_and_lists_and_nothing_else() -> None:
    event = Happened(
        fee=250,
        count=250,
        lines=[{"price": 100, "qty": 2, "tax": {"price": 7}}],
        summary={"price": 9, "qty": 9},
    )
    catalogue = EventCatalogue(
        "test", {Happened: published("thing.happened", "fee", "lines.price", "summary.price")}
    )
    data = envelope(event, catalogue=catalogue, position=None)["data"]
    assert data["fee"] == "2.50" and data["count"] == 250
    assert data["lines"] == [{"price": "1.00", "qty": 2, "tax": {"price": 7}}]
    assert data["summary"] == {"price": "0.09", "qty": 9}
