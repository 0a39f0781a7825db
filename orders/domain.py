"""The orders context's aggregates: a product's stock, and a customer's order.

A product's stock is held for orders by order id: reserving, releasing and committing name the
order, and a product remembers which orders it has settled, so the same step offered twice — a
resumed saga, a retried request — changes nothing the second time. Available stock never goes
below zero: a reservation that does not fit is refused whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from kernel.errors import DomainError

_PRODUCT_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/products")


class OrdersError(DomainError):
    """A business rule of the orders context said no."""

    code = "orders_error"


class ProductNotFound(OrdersError):
    code = "not_found"


class OrderNotFound(OrdersError):
    code = "not_found"


class InvalidOrder(OrdersError):
    code = "invalid"


class ProductExists(OrdersError):
    code = "already_exists"


class OutOfStock(OrdersError):
    code = "out_of_stock"


class InvalidState(OrdersError):
    code = "invalid_state"


class PaymentRefused(OrdersError):
    """The ledger did not take, or capture, the payment; ``code`` is the ledger's reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PaymentExpired(OrdersError):
    """The order's hold expired before the order shipped: the payment can no longer be taken."""

    code = "payment_expired"


class RefundRefused(OrdersError):
    """The ledger did not complete a refund (the customer's account refuses credits, say). Not
    a "no" that ends anything: the refund is retried until the account accepts it."""

    code = "refund_pending"


def product_id(sku: str) -> UUID:
    """A product's id follows from its SKU, so the catalogue needs no index of its own."""
    return uuid5(_PRODUCT_NAMESPACE, sku)


def check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InvalidOrder("A quantity must be a positive whole number.")


class Product(Aggregate):
    @event("Created")
    def __init__(self, id: UUID, sku: str, name: str, price: int, stock: int) -> None:
        self.sku = sku
        self.name = name
        self.price = price
        self.on_hand = stock
        self.reservations: dict[str, int] = {}  # order id -> quantity held for it
        # Orders whose reservation was released or committed, and stock deliveries applied:
        # dicts rather than sets, so that a snapshot can hold them.
        self.settled: dict[str, int] = {}
        self.stock_references: dict[str, int] = {}

    @classmethod
    def create(cls, sku: str, name: str, price: int, stock: int) -> Product:
        if not sku or price <= 0 or stock < 0:
            raise InvalidOrder("A product needs a SKU, a positive price and stock ≥ 0.")
        return cls(id=product_id(sku), sku=sku, name=name, price=price, stock=stock)

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    # --- Commands ------------------------------------------------------------------------

    def add_stock(self, quantity: int, reference: str) -> None:
        check_quantity(quantity)
        if reference not in self.stock_references:
            self._stock_added(quantity, reference, self.on_hand + quantity)

    def reserve(self, order_id: UUID, quantity: int) -> None:
        check_quantity(quantity)
        if str(order_id) in self.reservations or str(order_id) in self.settled:
            return
        if quantity > self.available:
            raise OutOfStock(
                f"Only {self.available} of {self.sku} available; {quantity} wanted.",
            )
        self._reserved(order_id, quantity, self.available - quantity)

    def release(self, order_id: UUID) -> None:
        """Give back what an order held. A compensation: nothing held is nothing to do."""
        quantity = self.reservations.get(str(order_id))
        if quantity is not None:
            self._released(order_id, quantity, self.available + quantity)

    def commit(self, order_id: UUID) -> None:
        """The order shipped: what it held leaves the shelf."""
        quantity = self.reservations.get(str(order_id))
        if quantity is not None:
            self._committed(order_id, quantity, self.on_hand - quantity)
        elif str(order_id) not in self.settled:
            raise InvalidState(f"{self.sku} holds nothing for order {order_id}.")

    # --- Events ----------------------------------------------------------------------------

    @event("StockAdded")
    def _stock_added(self, quantity: int, reference: str, on_hand: int) -> None:
        self.on_hand = on_hand
        self.stock_references[reference] = quantity

    @event("Reserved")
    def _reserved(self, order_id: UUID, quantity: int, available: int) -> None:
        self.reservations[str(order_id)] = quantity

    @event("Released")
    def _released(self, order_id: UUID, quantity: int, available: int) -> None:
        del self.reservations[str(order_id)]
        self.settled[str(order_id)] = quantity

    @event("Committed")
    def _committed(self, order_id: UUID, quantity: int, on_hand: int) -> None:
        del self.reservations[str(order_id)]
        self.settled[str(order_id)] = quantity
        self.on_hand = on_hand


class OrderStatus(StrEnum):
    PENDING = "pending"  # being placed: the PlaceOrder saga is running
    CONFIRMED = "confirmed"
    CANCELLING = "cancelling"  # a cancellation has begun: refund and release are under way
    CANCELLED = "cancelled"
    SHIPPING = "shipping"  # a shipment has begun: the payment is being captured
    SHIPPED = "shipped"


class PaymentMethod(StrEnum):
    """How an order pays. Orders placed before holds paid by transfer, and keep doing so."""

    HOLD = "hold"  # authorised when placed, captured when shipped, voided if cancelled before
    TRANSFER = "transfer"  # taken when placed, refunded if cancelled


class PaymentStatus(StrEnum):
    PROCESSED = "processed"  # by transfer: the money moved when the order was placed
    REFUNDED = "refunded"
    AUTHORIZED = "authorized"  # by hold: the money is held on the customer's account
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"  # the hold ran out before the order shipped


class Order(Aggregate):
    """A customer's order: what it holds and what it cost, and each status it passes through.

    ``items`` are ``{"sku", "quantity", "price"}`` with the unit price in cents at the time of
    ordering; ``total`` is their sum. The payment's story is recorded here — authorised,
    captured, voided or expired by hold id; or, for orders placed before holds, processed and
    refunded by transfer id — once the ledger has done each, so the order's own log tells it.
    """

    @event("Created")
    def __init__(
        self,
        id: UUID,
        customer: str,
        account: UUID,
        items: list[dict[str, Any]],
        total: int,
        currency: str,
    ) -> None:
        self.customer = customer
        self.account = account
        self.items = items
        self.total = total
        self.currency = currency
        self.status = OrderStatus.PENDING
        self.payment_id: UUID | None = None  # the hold's id, or the transfer's
        self.payment_method: PaymentMethod | None = None
        self.payment_status: PaymentStatus | None = None
        self.refund_id: UUID | None = None
        self.cancel_reason: str | None = None

    # --- Commands ------------------------------------------------------------------------
    # The ledger's answers are recorded once: the same record offered again (a resumed saga)
    # changes nothing.

    def record_payment(self, transfer_id: UUID) -> None:
        if self.payment_id is None:
            self._payment_processed(transfer_id, self.total)

    def record_authorization(self, hold_id: UUID) -> None:
        if self.payment_id is None:
            self._payment_authorized(hold_id, self.total)

    def record_capture(self) -> None:
        if self.pending_hold is not None:
            self._payment_captured(self.pending_hold, self.total)

    def record_void(self) -> None:
        if self.pending_hold is not None:
            self._payment_voided(self.pending_hold, self.total)

    def record_expiry(self) -> None:
        if self.pending_hold is not None:
            self._payment_expired(self.pending_hold, self.total)

    @property
    def pending_hold(self) -> UUID | None:
        """The hold that authorises the payment, while it is neither captured nor released."""
        return self.payment_id if self.payment_status == PaymentStatus.AUTHORIZED else None

    def confirm(self) -> None:
        if self.status != OrderStatus.CONFIRMED:
            self.check_status(OrderStatus.PENDING, doing="confirm")
            self._confirmed()

    def request_cancellation(self) -> None:
        if self.status not in (OrderStatus.CANCELLING, OrderStatus.CANCELLED):
            self.check_status(OrderStatus.CONFIRMED, doing="cancel")
            self._cancellation_requested()

    def record_refund(self, transfer_id: UUID) -> None:
        if self.payment_status == PaymentStatus.PROCESSED:
            self._payment_refunded(transfer_id, self.total)

    def cancel(self, reason: str) -> None:
        """End the order; sagas call it once stock and money are back where they were."""
        if self.status != OrderStatus.CANCELLED:
            self.check_status(
                OrderStatus.PENDING, OrderStatus.CANCELLING, OrderStatus.SHIPPING, doing="cancel"
            )
            self._cancelled(reason)

    def request_shipment(self) -> None:
        if self.status != OrderStatus.SHIPPING:
            self.check_status(OrderStatus.CONFIRMED, doing="ship")
            self._shipment_requested()

    def ship(self) -> None:
        """Ship an order being shipped; one paid by hold, once its payment is captured."""
        if self.status != OrderStatus.SHIPPED:
            self.check_status(OrderStatus.SHIPPING, doing="ship")
            if self.payment_method == PaymentMethod.HOLD:
                self.check_payment(PaymentStatus.CAPTURED, doing="ship")
            self._shipped()

    def check_status(self, *allowed: OrderStatus, doing: str) -> None:
        if self.status not in allowed:
            raise InvalidState(f"Order {self.id} is {self.status}; cannot {doing} it.")

    def check_payment(self, allowed: PaymentStatus, *, doing: str) -> None:
        if self.payment_status != allowed:
            raise InvalidState(
                f"Order {self.id}'s payment is {self.payment_status}; cannot {doing} it."
            )

    # --- Events ----------------------------------------------------------------------------

    @event("PaymentProcessed")
    def _payment_processed(self, transfer_id: UUID, amount: int) -> None:
        self.payment_id = transfer_id
        self.payment_method, self.payment_status = PaymentMethod.TRANSFER, PaymentStatus.PROCESSED

    @event("PaymentAuthorized")
    def _payment_authorized(self, hold_id: UUID, amount: int) -> None:
        self.payment_id = hold_id
        self.payment_method, self.payment_status = PaymentMethod.HOLD, PaymentStatus.AUTHORIZED

    @event("PaymentCaptured")
    def _payment_captured(self, hold_id: UUID, amount: int) -> None:
        self.payment_status = PaymentStatus.CAPTURED

    @event("PaymentVoided")
    def _payment_voided(self, hold_id: UUID, amount: int) -> None:
        self.payment_status = PaymentStatus.VOIDED

    @event("PaymentExpired")
    def _payment_expired(self, hold_id: UUID, amount: int) -> None:
        self.payment_status = PaymentStatus.EXPIRED

    @event("Confirmed")
    def _confirmed(self) -> None:
        self.status = OrderStatus.CONFIRMED

    @event("CancellationRequested")
    def _cancellation_requested(self) -> None:
        self.status = OrderStatus.CANCELLING

    @event("PaymentRefunded")
    def _payment_refunded(self, transfer_id: UUID, amount: int) -> None:
        self.refund_id = transfer_id
        self.payment_status = PaymentStatus.REFUNDED

    @event("Cancelled")
    def _cancelled(self, reason: str) -> None:
        self.status = OrderStatus.CANCELLED
        self.cancel_reason = reason

    @event("ShipmentRequested")
    def _shipment_requested(self) -> None:
        self.status = OrderStatus.SHIPPING

    @event("Shipped")
    def _shipped(self) -> None:
        self.status = OrderStatus.SHIPPED


def status_history(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Each status an order entered, and when: a fold of the order's stored events."""
    order: Order | None = None
    history: list[dict[str, Any]] = []
    for e in events:
        order = e.mutate(order)
        assert order is not None
        if not history or history[-1]["status"] != order.status:
            history.append({"status": str(order.status), "at": e.timestamp})
    return history
