"""PlaceOrder, CancelOrder and ShipOrder: the orders context's sagas, across the orders and
ledger stores.

    PlaceOrder
    step             compensation
    create_order     cancel_order
    reserve_stock    release_stock
    take_payment     refund_payment   (pivot; remote: the order's hold, in the ledger's store)
    confirm_order    —

    CancelOrder (a confirmed order, at its owner's or staff's request)
    request_cancellation   (pivot: refused once shipping; after it the order only goes back)
    refund_payment, release_stock, cancel_order

    ShipOrder (a confirmed order, at staff's request)
    request_shipment       cancel_unpaid_order   (after it, cancelling is refused)
    capture_payment        —   (pivot; remote: refused when the hold expired first)
    ship_order             —

Order, products and saga share the orders store, so each of those steps commits in one
transaction with the saga's record of it. The payment's steps commit in the ledger's store —
maybe another database — so they cannot commit with anything here: each is idempotent by an id
derived from the saga id instead (``orders.payments``). A crash between the ledger's commit and
ours is repaired by running the step again, which finds the ledger's work done and records it.

How a saga pays is recorded when it starts (``payment``): by hold, or, for orders placed
before holds, by transfer. The payment's steps keep their names either way, so a saga stored
before holds resumes at the step it stopped at and pays, or refunds, as it began to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from orders.domain import (
    InvalidState,
    Order,
    OutOfStock,
    PaymentExpired,
    PaymentMethod,
    PaymentRefused,
    Product,
)
from orders.payments import (
    HOLD_EXPIRED,
    Payments,
    authorize,
    capture,
    pay_by_transfer,
    refund_transfer,
    release,
)
from sagas.engine import Effects, Saga, SagaDefinition, Step

if TYPE_CHECKING:
    from orders.application import OrdersApplication

_SAGA_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/order-sagas")


def placement_id(order_id: UUID) -> UUID:
    return uuid5(_SAGA_NAMESPACE, f"place:{order_id}")


def cancellation_id(order_id: UUID) -> UUID:
    return uuid5(_SAGA_NAMESPACE, f"cancel:{order_id}")


def shipment_id(order_id: UUID) -> UUID:
    return uuid5(_SAGA_NAMESPACE, f"ship:{order_id}")


def payment_id(saga_id: UUID) -> UUID:
    """The id of a placement's payment: its hold's (or, before holds, its transfer's)."""
    return uuid5(saga_id, "payment")


# ShipOrder has no deadline of its own. The hold's expiry is the one that counts, and the ledger
# keeps it: a capture after it is refused, and the shipment then compensates. A deadline of the
# saga's could fail the capture step after the ledger had made the capture (a crash between the
# two stores), and cancel an order whose money the merchant has.
NO_DEADLINE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Ordering:
    """What the order sagas' steps act on: this context's application, and the ledger's."""

    orders: OrdersApplication
    payments: Payments


# --- The sagas' recorded state ------------------------------------------------------------


class OrderSaga(Saga):
    """What every order saga knows: the order, its items and money, and how it is paid."""

    class Started(Saga.Started):
        # Version 2 records how the order pays (``payment``). A saga stored before holds paid
        # by transfer, and ``upcast_v1_v2`` reads its start so.
        class_version = 2

        order_id: UUID
        customer: str
        account: UUID
        items: list[dict[str, Any]]
        total: int
        currency: str
        payment_id: UUID | None
        payment: str  # a ``PaymentMethod``

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["payment"] = PaymentMethod.TRANSFER.value

    def __init__(
        self,
        id: UUID,
        order_id: UUID,
        customer: str,
        account: UUID,
        items: list[dict[str, Any]],
        total: int,
        currency: str,
        payment_id: UUID | None,
        payment: str,
        deadline: datetime,
    ) -> None:
        super().__init__(deadline)
        self.order_id = order_id
        self.customer = customer
        self.account = account
        self.items = items
        self.total = total
        self.currency = currency
        self.payment_id = payment_id
        self.payment = PaymentMethod(payment)

    @property
    def cancellation_reason(self) -> str:
        return self.failure_code or "cancelled"

    class Completed(Saga.Completed):
        order_id: UUID

    class Compensated(Saga.Compensated):
        order_id: UUID

    class Failed(Saga.Failed):
        order_id: UUID

    def outcome_facts(self) -> dict[str, Any]:
        return {"order_id": self.order_id}


class OrderPlacement(OrderSaga):
    """The PlaceOrder saga's progress. Its id follows from the order's (``placement_id``)."""


class OrderCancellation(OrderSaga):
    """The CancelOrder saga's progress. One per order (``cancellation_id``)."""

    @property
    def cancellation_reason(self) -> str:
        return "cancelled_on_request"


class OrderShipment(OrderSaga):
    """The ShipOrder saga's progress. One per order (``shipment_id``)."""


def saga_ids(order_id: UUID) -> dict[type[OrderSaga], UUID]:
    """The ids an order's sagas have (or would have), by kind, each following from the order's."""
    return {
        OrderPlacement: placement_id(order_id),
        OrderCancellation: cancellation_id(order_id),
        OrderShipment: shipment_id(order_id),
    }


# --- Steps and compensations ----------------------------------------------------------------


def create_order(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = Order(
        id=saga.order_id,
        customer=saga.customer,
        account=saga.account,
        items=saga.items,
        total=saga.total,
        currency=saga.currency,
    )
    return [order]


def cancel_order(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = ctx.orders.get_order(saga.order_id)
    order.cancel(saga.cancellation_reason)
    return [order]


def reserve_stock(ctx: Ordering, saga: OrderSaga) -> Effects:
    """All items or none: an item out of stock raises before anything is saved."""
    products = _products(ctx, saga)
    for product, item in zip(products, saga.items, strict=True):
        product.reserve(saga.order_id, item["quantity"])
    return products


def release_stock(ctx: Ordering, saga: OrderSaga) -> Effects:
    products = _products(ctx, saga)
    for product in products:
        product.release(saga.order_id)
    return products


def take_payment(ctx: Ordering, saga: OrderSaga) -> Effects:
    """Authorise the order's total with a hold (or, begun before holds, take it by transfer)."""
    if saga.payment == PaymentMethod.HOLD:
        hold_id = authorize(ctx.payments, saga, ctx.orders.payment_hold_seconds)
        order = ctx.orders.get_order(saga.order_id)
        order.record_authorization(hold_id)
    else:
        transfer_id = pay_by_transfer(ctx.payments, saga)
        order = ctx.orders.get_order(saga.order_id)
        order.record_payment(transfer_id)
    return [order]


def refund_payment(ctx: Ordering, saga: OrderSaga) -> Effects:
    """Give back what the payment took — void its hold, or refund its transfer — and nothing
    when it took nothing (``release``, ``refund_transfer``). The order records it."""
    if saga.payment_id is None:
        return []  # the order was never paid for
    if saga.payment == PaymentMethod.HOLD:
        hold = release(ctx.payments, saga, ctx.orders.payment_hold_seconds)
        if hold is None:
            return []
        order = ctx.orders.get_order(saga.order_id)
        order.record_authorization(hold.id)  # a step out of time never recorded it
        if hold.status == HOLD_EXPIRED:
            order.record_expiry()
        else:
            order.record_void()
        return [order]
    refunded = refund_transfer(ctx.payments, saga)
    if refunded is None:
        return []
    order = ctx.orders.get_order(saga.order_id)
    order.record_payment(saga.payment_id)
    order.record_refund(refunded)
    return [order]


def confirm_order(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = ctx.orders.get_order(saga.order_id)
    order.confirm()
    return [order]


def request_cancellation(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = ctx.orders.get_order(saga.order_id)
    order.request_cancellation()
    return [order]


def request_shipment(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = ctx.orders.get_order(saga.order_id)
    order.request_shipment()
    return [order]


def cancel_unpaid_order(ctx: Ordering, saga: OrderSaga) -> Effects:
    """The payment cannot be captured (its hold expired, say), so the order can never be paid
    for: it is cancelled with the refusal's code, and its stock released, in one transaction."""
    order = ctx.orders.get_order(saga.order_id)
    if saga.failure_code == PaymentExpired.code:
        order.record_expiry()
    order.cancel(saga.cancellation_reason)
    return [order, *release_stock(ctx, saga)]


def capture_payment(ctx: Ordering, saga: OrderSaga) -> Effects:
    """Take the money the order's hold set aside. An order paid by transfer paid when it was
    placed: it has nothing to capture."""
    if saga.payment != PaymentMethod.HOLD:
        return []
    capture(ctx.payments, saga)
    order = ctx.orders.get_order(saga.order_id)
    order.record_capture()
    return [order]


def ship_order(ctx: Ordering, saga: OrderSaga) -> Effects:
    """The order ships, and what it reserved leaves the shelf, in one transaction."""
    order = ctx.orders.get_order(saga.order_id)
    order.ship()
    products = _products(ctx, saga)
    for product in products:
        product.commit(saga.order_id)
    return [order, *products]


def _products(ctx: Ordering, saga: OrderSaga) -> list[Product]:
    """The products of the order's items, in the items' order."""
    return [ctx.orders.get_product(item["sku"]) for item in saga.items]


# --- The sagas, as their steps ---------------------------------------------------------------


class PlaceOrder(SagaDefinition[Ordering, OrderPlacement]):
    saga_class = OrderPlacement
    business_errors = (OutOfStock, PaymentRefused)
    steps = (
        Step("create_order", create_order, compensation=cancel_order),
        Step("reserve_stock", reserve_stock, compensation=release_stock),
        Step("take_payment", take_payment, compensation=refund_payment, pivot=True, remote=True),
        Step("confirm_order", confirm_order),
    )


class CancelOrder(SagaDefinition[Ordering, OrderCancellation]):
    saga_class = OrderCancellation
    business_errors = (InvalidState,)
    steps = (
        Step("request_cancellation", request_cancellation, pivot=True),
        Step("refund_payment", refund_payment),
        Step("release_stock", release_stock),
        Step("cancel_order", cancel_order),
    )


class ShipOrder(SagaDefinition[Ordering, OrderShipment]):
    saga_class = OrderShipment
    business_errors = (InvalidState, PaymentExpired, PaymentRefused)
    steps = (
        Step("request_shipment", request_shipment, compensation=cancel_unpaid_order),
        Step("capture_payment", capture_payment, pivot=True, remote=True),
        Step("ship_order", ship_order),
    )
