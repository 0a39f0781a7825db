"""PlaceOrder and CancelOrder: the orders context's sagas, across the orders and ledger stores.

    PlaceOrder
    step             compensation
    create_order     cancel_order
    reserve_stock    release_stock
    take_payment     refund_payment   (pivot; remote: a ledger transfer, in the ledger's store)
    confirm_order    —

    CancelOrder (a confirmed order, at its owner's or staff's request)
    request_cancellation   (pivot: refused once shipped; after it the order only goes back)
    refund_payment, release_stock, cancel_order

Order, products and saga share the orders store, so each of those steps commits in one
transaction with the saga's record of it. The payment commits in the ledger's store — maybe
another database — so it cannot commit with anything here: it is idempotent by a transfer id
derived from the saga id instead. A crash between the ledger's commit and ours is repaired by
running the step again, which finds the same transfer finished and records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import TYPE_CHECKING, Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from kernel.errors import DomainError
from orders.domain import InvalidState, Order, OutOfStock, PaymentRefused, RefundRefused
from sagas.engine import Effects, Saga, SagaDefinition, SagaStatus, Step

if TYPE_CHECKING:
    from orders.application import OrdersApplication

_SAGA_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/order-sagas")


def placement_id(order_id: UUID) -> UUID:
    return uuid5(_SAGA_NAMESPACE, f"place:{order_id}")


def cancellation_id(order_id: UUID) -> UUID:
    return uuid5(_SAGA_NAMESPACE, f"cancel:{order_id}")


def payment_id(saga_id: UUID) -> UUID:
    return uuid5(saga_id, "payment")


def refund_id(saga_id: UUID, attempt: int) -> UUID:
    return uuid5(saga_id, f"refund:{attempt}")


# --- What the orders context needs of the ledger: its application API, nothing more ---------


class Account(Protocol):
    @property
    def id(self) -> UUID: ...


class TransferOutcome(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def is_finished(self) -> bool: ...
    @property
    def failed_step(self) -> str | None: ...
    @property
    def failure_code(self) -> str | None: ...
    @property
    def failure_reason(self) -> str | None: ...


class Payments(Protocol):
    """The ledger's application API, as the orders context uses it (``LedgerApplication``)."""

    def merchant_account(self, currency: str) -> Account: ...

    def owner_of(self, account_id: UUID) -> str:
        """Who owns the account; the ledger's ``not_found`` error when there is none."""
        ...

    def transfer_funds(
        self,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        *,
        transfer_id: UUID | None = None,
        reference: str = "",
    ) -> TransferOutcome:
        """Run (or, for an existing ``transfer_id``, resume) a transfer to its end."""
        ...

    def find_transfer(self, transfer_id: UUID) -> TransferOutcome | None:
        """The transfer, or None when there is none."""
        ...


@dataclass(frozen=True)
class Ordering:
    """What the order sagas' steps act on: this context's application, and the ledger's."""

    orders: OrdersApplication
    payments: Payments


# --- The sagas' recorded state ------------------------------------------------------------


class OrderSaga(Saga):
    """What both order sagas know: the order, its items and money, and the payment's id."""

    class Started(Saga.Started):
        order_id: UUID
        customer: str
        account: UUID
        items: list[dict[str, Any]]
        total: int
        currency: str
        payment_id: UUID | None

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
    products = [ctx.orders.get_product(item["sku"]) for item in saga.items]
    for product, item in zip(products, saga.items, strict=True):
        product.reserve(saga.order_id, item["quantity"])
    return products


def release_stock(ctx: Ordering, saga: OrderSaga) -> Effects:
    products = [ctx.orders.get_product(item["sku"]) for item in saga.items]
    for product in products:
        product.release(saga.order_id)
    return products


def take_payment(ctx: Ordering, saga: OrderSaga) -> Effects:
    payment = _run_payment(ctx, saga)
    if payment.status != SagaStatus.COMPLETED:
        code = payment.failure_code or "payment_failed"
        if payment.failed_step == "credit_destination" and code != "currency_mismatch":
            code = "merchant_unavailable"  # the customer could pay; the shop could not take it
        raise PaymentRefused(code, payment.failure_reason or "The payment did not complete.")
    order = ctx.orders.get_order(saga.order_id)
    order.record_payment(_payment_id(saga))
    return [order]


def refund_payment(ctx: Ordering, saga: OrderSaga) -> Effects:
    """Give back what the payment took; nothing when it took nothing.

    PlaceOrder runs this only when ``take_payment`` ran out of time, and then the payment may
    still be under way in a request that has not noticed. The only way to be sure it cannot
    land after we looked is to run it to its end ourselves — the transfer id makes that request
    and us one and the same transfer — and then refund whatever it took.
    """
    if saga.payment_id is None:
        return []  # the order was never paid for
    payment = _run_payment(ctx, saga)
    if payment.status != SagaStatus.COMPLETED:
        return []  # failed, or compensated by the ledger itself: no money moved
    order = ctx.orders.get_order(saga.order_id)
    order.record_payment(saga.payment_id)
    order.record_refund(_run_refund(ctx, saga))
    return [order]


def confirm_order(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = ctx.orders.get_order(saga.order_id)
    order.confirm()
    return [order]


def request_cancellation(ctx: Ordering, saga: OrderSaga) -> Effects:
    order = ctx.orders.get_order(saga.order_id)
    order.request_cancellation()
    return [order]


def _payment_id(saga: OrderSaga) -> UUID:
    assert saga.payment_id is not None, "a placement always names its payment"
    return saga.payment_id


def _run_payment(ctx: Ordering, saga: OrderSaga) -> TransferOutcome:
    """The payment transfer, run or resumed to its end: customer to merchant, the order's total."""
    try:
        merchant = ctx.payments.merchant_account(saga.currency)
        return ctx.payments.transfer_funds(
            saga.account,
            merchant.id,
            saga.total,
            transfer_id=_payment_id(saga),
            reference=f"order {saga.order_id}",
        )
    except DomainError as error:  # refused before it started (no such account, ...): its code
        raise PaymentRefused(error.code, str(error)) from error


def _run_refund(ctx: Ordering, saga: OrderSaga) -> UUID:
    """Refund the payment: merchant to customer, the same amount. Returns the refund's id.

    Each attempt is a transfer with an id derived from the saga's and the attempt's number, so
    repeating this finds and finishes the attempt under way instead of starting another. An
    attempt the ledger refused (the customer's account frozen, say) ends that transfer; the next
    try is attempt n + 1, and since it starts only once attempt n has ended refused, at most one
    refund can ever complete.
    """
    merchant = ctx.payments.merchant_account(saga.currency)
    for attempt in count():
        transfer_id = refund_id(saga.id, attempt)
        earlier = ctx.payments.find_transfer(transfer_id)
        if earlier is not None and earlier.is_finished and earlier.status != SagaStatus.COMPLETED:
            continue
        refund = ctx.payments.transfer_funds(
            merchant.id,
            saga.account,
            saga.total,
            transfer_id=transfer_id,
            reference=f"refund of order {saga.order_id}",
        )
        if refund.status == SagaStatus.COMPLETED:
            return transfer_id
        raise RefundRefused(
            f"The refund of order {saga.order_id} was refused ({refund.failure_code}); "
            "it will be retried."
        )
    raise AssertionError("unreachable")


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
