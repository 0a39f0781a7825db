"""The orders and products projections: each event's effect on its row, replays that change
nothing, and — through the real relay and stream — rows equal to the aggregates."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from config.container import Container
from kernel.events import envelope
from messaging.runtime import relay_events, run_subscribers
from messaging.subscriber import Delivery
from orders.application import OrdersApplication
from projections.models import OrderSummary, ProductStock
from projections.projectors import OrderSummaryProjector, ProductStockProjector
from tests.integration.conftest import Bus
from tests.support import funded

pytestmark = pytest.mark.django_db(transaction=True)


def deliveries_of(orders: OrdersApplication, aggregate_id: UUID) -> list[Delivery]:
    """The aggregate's events as the projector receives them: enveloped, one by one."""
    return [
        Delivery(i, "subject", envelope(e, catalogue=orders.catalogue, position=i))
        for i, e in enumerate(orders.stored_events(aggregate_id), start=1)
    ]


def test_each_product_event_moves_the_products_row(container: Container) -> None:
    orders, ledger = container.orders, container.ledger
    orders.create_product("APPLE", "apple", 150, 5)
    orders.add_stock("APPLE", 3, "delivery-1")
    account = funded(ledger, 10_000)
    shipped = orders.place_order("alice", account, [("APPLE", 2)]).order_id
    cancelled = orders.place_order("alice", account, [("APPLE", 1)]).order_id
    orders.ship_order(shipped)
    orders.cancel_order(cancelled)
    product = orders.get_product("APPLE")
    projector, seen = ProductStockProjector(), []
    for delivery in deliveries_of(orders, product.id):
        projector.apply([delivery])
        row = ProductStock.objects.get(sku="APPLE")
        seen.append((delivery.type, row.on_hand, row.reserved, row.available, row.version))
    assert seen == [
        ("product.created", 5, 0, 5, 1),
        ("product.stock_added", 8, 0, 8, 2),
        ("inventory.reserved", 8, 2, 6, 3),
        ("inventory.reserved", 8, 3, 5, 4),
        ("inventory.committed", 6, 1, 5, 5),
        ("inventory.released", 6, 0, 6, 6),
    ]
    row = ProductStock.objects.get(sku="APPLE")
    assert (row.name, row.price) == ("apple", 150)


def test_each_order_event_moves_the_orders_row(container: Container) -> None:
    orders, ledger = container.orders, container.ledger
    orders.create_product("APPLE", "apple", 150, 5)
    account = funded(ledger, 10_000)
    order_id = orders.place_order("alice", account, [("APPLE", 2)]).order_id
    orders.cancel_order(order_id)
    projector, seen = OrderSummaryProjector(), []
    for delivery in deliveries_of(orders, order_id):
        projector.apply([delivery])
        row = OrderSummary.objects.get(id=order_id)
        seen.append((delivery.type, row.status, row.version))
    assert seen == [
        ("order.created", "pending", 1),
        ("payment.authorized", "pending", 2),
        ("order.confirmed", "confirmed", 3),
        ("order.cancellation_requested", "cancelling", 4),
        ("payment.voided", "cancelling", 5),
        ("order.cancelled", "cancelled", 6),
    ]
    row = OrderSummary.objects.get(id=order_id)
    assert (row.owner, row.account, row.total, row.currency) == ("alice", account, 300, "EUR")
    assert row.items == [{"sku": "APPLE", "quantity": 2, "price": 150}]


def test_a_shipped_order_and_a_replayed_batch(container: Container) -> None:
    orders, ledger = container.orders, container.ledger
    orders.create_product("APPLE", "apple", 150, 5)
    order_id = orders.place_order("alice", funded(ledger, 10_000), [("APPLE", 1)]).order_id
    orders.ship_order(order_id)
    batch = deliveries_of(orders, order_id)
    assert [d.type for d in batch][3:] == [
        "order.shipment_requested", "payment.captured", "order.shipped",
    ]  # fmt: skip
    projector, seen = OrderSummaryProjector(), []
    for delivery in batch[:5]:
        projector.apply([delivery])
        seen.append(OrderSummary.objects.get(id=order_id).status)
    assert seen == ["pending", "pending", "confirmed", "shipping", "shipping"]
    OrderSummary.objects.all().delete()
    OrderSummaryProjector().apply(batch)  # the whole log in one batch
    before = list(OrderSummary.objects.values())
    assert before[0]["status"] == "shipped"
    OrderSummaryProjector().apply(batch)  # and again: a replay
    OrderSummaryProjector().apply(batch[:2])  # or an older part of it
    assert list(OrderSummary.objects.values()) == before


def test_events_for_rows_never_created_are_skipped(container: Container) -> None:
    stray = Delivery(1, "s", {"type": "order.confirmed", "aggregate_id": str(uuid4()),
                              "aggregate_version": 3, "timestamp": "2026-01-01T00:00:00+00:00",
                              "data": {}})  # fmt: skip
    OrderSummaryProjector().apply([stray])
    assert not OrderSummary.objects.exists()


def test_through_the_stream_the_projections_equal_the_aggregates(
    container: Container, bus: Bus
) -> None:
    orders, ledger = container.orders, container.ledger
    for sku, stock in (("A", 4), ("B", 1)):
        orders.create_product(sku, sku.lower(), 100, stock)
    wallet = funded(ledger, 1_000)
    placed = [
        orders.place_order("alice", wallet, lines).order_id
        for lines in ([("A", 1)], [("A", 2), ("B", 1)], [("B", 1)], [("A", 1)])
    ]
    orders.ship_order(placed[0])
    orders.cancel_order(placed[1])
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    names = [OrderSummaryProjector.name, ProductStockProjector.name]
    asyncio.run(run_subscribers(names, bus.url, once=True))
    for order_id in placed:
        order, row = orders.get_order(order_id), OrderSummary.objects.get(id=order_id)
        assert (row.status, row.total, row.version) == (str(order.status), order.total,
                                                        order.version)  # fmt: skip
    for sku in ("A", "B"):
        product, stock_row = orders.get_product(sku), ProductStock.objects.get(sku=sku)
        assert (stock_row.on_hand, stock_row.reserved, stock_row.available, stock_row.version) == (
            product.on_hand, product.reserved, product.available, product.version,
        )  # fmt: skip
