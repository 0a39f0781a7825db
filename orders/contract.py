"""The events the orders context publishes: their public names, and which fields are amounts.

Subscribers depend on these names and on the envelope (``kernel.events``), never on the classes
behind them. ``items.price`` names the unit price inside each of an order's items. An order pays
by hold (``payment.authorized``, then ``.captured``, ``.voided`` or ``.expired``); orders placed
before holds paid by transfer (``payment.processed``, ``payment.refunded``).
"""

from __future__ import annotations

from kernel.events import EventCatalogue, published
from orders.domain import Order, Product
from orders.saga import OrderCancellation, OrderPlacement, OrderShipment

ORDERS_EVENTS = EventCatalogue(
    "orders",
    {
        Product.Created: published("product.created", "price"),
        Product.StockAdded: published("product.stock_added"),
        Product.Reserved: published("inventory.reserved"),
        Product.Released: published("inventory.released"),
        Product.Committed: published("inventory.committed"),
        Order.Created: published("order.created", "total", "items.price"),
        Order.PaymentAuthorized: published("payment.authorized", "amount"),
        Order.PaymentCaptured: published("payment.captured", "amount"),
        Order.PaymentVoided: published("payment.voided", "amount"),
        Order.PaymentExpired: published("payment.expired", "amount"),
        Order.PaymentProcessed: published("payment.processed", "amount"),  # paid by transfer
        Order.PaymentRefunded: published("payment.refunded", "amount"),
        Order.Confirmed: published("order.confirmed"),
        Order.CancellationRequested: published("order.cancellation_requested"),
        Order.Cancelled: published("order.cancelled"),
        Order.ShipmentRequested: published("order.shipment_requested"),
        Order.Shipped: published("order.shipped"),
        OrderPlacement.Started: published("order_placement.started", "total", "items.price"),
        OrderPlacement.StepSucceeded: published("order_placement.step_succeeded"),
        OrderPlacement.StepFailed: published("order_placement.step_failed"),
        OrderPlacement.StepCompensated: published("order_placement.step_compensated"),
        OrderPlacement.Completed: published("order_placement.completed"),
        OrderPlacement.Compensated: published("order_placement.compensated"),
        OrderPlacement.Failed: published("order_placement.failed"),
        OrderCancellation.Started: published("order_cancellation.started", "total", "items.price"),
        OrderCancellation.StepSucceeded: published("order_cancellation.step_succeeded"),
        OrderCancellation.StepFailed: published("order_cancellation.step_failed"),
        OrderCancellation.StepCompensated: published("order_cancellation.step_compensated"),
        OrderCancellation.Completed: published("order_cancellation.completed"),
        OrderCancellation.Compensated: published("order_cancellation.compensated"),
        OrderCancellation.Failed: published("order_cancellation.failed"),
        OrderShipment.Started: published("order_shipment.started", "total", "items.price"),
        OrderShipment.StepSucceeded: published("order_shipment.step_succeeded"),
        OrderShipment.StepFailed: published("order_shipment.step_failed"),
        OrderShipment.StepCompensated: published("order_shipment.step_compensated"),
        OrderShipment.Completed: published("order_shipment.completed"),
        OrderShipment.Compensated: published("order_shipment.compensated"),
        OrderShipment.Failed: published("order_shipment.failed"),
    },
)
