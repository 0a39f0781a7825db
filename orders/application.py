"""The orders context's use cases: the catalogue's stock, and orders placed, shipped and
cancelled as sagas that pay through the ledger's application API (``orders.payments``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import RecordConflictError

from kernel.application import EventSourcedApplication
from orders.contract import ORDERS_EVENTS
from orders.domain import (
    InvalidOrder,
    InvalidState,
    Order,
    OrderNotFound,
    OrderStatus,
    PaymentExpired,
    PaymentMethod,
    Product,
    ProductExists,
    ProductNotFound,
    RefundRefused,
    check_quantity,
    product_id,
)
from orders.payments import Payments
from orders.saga import (
    NO_DEADLINE,
    CancelOrder,
    OrderCancellation,
    Ordering,
    OrderPlacement,
    OrderSaga,
    OrderShipment,
    PlaceOrder,
    ShipOrder,
    cancellation_id,
    payment_id,
    placement_id,
    saga_ids,
    shipment_id,
)
from sagas.engine import (
    AfterCommit,
    SagaDefinition,
    SagaRunner,
    SagaStatus,
    deadline_from_now,
    unfinished_saga_ids,
)

logger = logging.getLogger(__name__)
S = TypeVar("S", bound=OrderSaga)

MAX_ORDER_LINES = 50
# Each kind of order saga, and the definition that runs it.
DEFINITIONS: dict[type[OrderSaga], type[SagaDefinition[Ordering, Any]]] = {
    OrderPlacement: PlaceOrder,
    OrderCancellation: CancelOrder,
    OrderShipment: ShipOrder,
}


class OrdersApplication(EventSourcedApplication):
    name = "orders"
    catalogue = ORDERS_EVENTS
    snapshotting_intervals = {Product: 200}
    saga_deadline_seconds = 60.0
    currency = "EUR"  # the shop's prices, and the merchant account that takes its payments
    payment_hold_seconds: float | None = None  # how long a payment waits to be captured: the
    # hold's expiry (None: the ledger's default, a week); an order not shipped by then is unpaid
    payments: Payments  # the ledger's application API, wired by the composition root

    # --- The catalogue ---------------------------------------------------------------------

    def create_product(self, sku: str, name: str, price: int, stock: int) -> Product:
        """Add a product. Creating a SKU again with the same details returns it (a retry)."""
        product = Product.create(sku, name, price, stock)
        try:
            self.save(product)
        except RecordConflictError:
            existing = self.get_product(sku)
            if (existing.name, existing.price) != (name, price):
                raise ProductExists(f"Product {sku} exists with other details.") from None
            return existing
        return product

    def get_product(self, sku: str) -> Product:
        product = self.find(product_id(sku), Product)
        if product is None:
            raise ProductNotFound(f"Product {sku} not found.")
        return product

    def add_stock(self, sku: str, quantity: int, reference: str) -> Product:
        def attempt() -> Product:
            product = self.get_product(sku)
            product.add_stock(quantity, reference)
            self.save(product)
            return product

        return self.retrying(attempt)

    # --- Orders ----------------------------------------------------------------------------

    def place_order(
        self,
        customer: str,
        account: UUID,
        lines: Sequence[tuple[str, int]],
        *,
        order_id: UUID | None = None,
        after_commit: AfterCommit | None = None,
    ) -> OrderPlacement:
        """Run the PlaceOrder saga; return it in its final state (the order is then confirmed,
        or cancelled with nothing held). An ``order_id`` placed before resumes that placement.

        Rejected before anything starts: no lines, a SKU twice, a bad quantity (InvalidOrder), an
        unknown SKU (ProductNotFound).
        """
        order_id = order_id or uuid4()
        runner = self.runner(OrderPlacement, after_commit)
        saga_id = placement_id(order_id)
        if self.find(saga_id, OrderPlacement) is not None:
            return runner.run(saga_id)
        items = self._priced(lines)
        saga = OrderPlacement(
            id=saga_id,
            order_id=order_id,
            customer=customer,
            account=account,
            items=items,
            total=sum(i["price"] * i["quantity"] for i in items),
            currency=self.currency,
            payment_id=payment_id(saga_id),
            payment=PaymentMethod.HOLD.value,
            deadline=deadline_from_now(self.saga_deadline_seconds),
        )
        return runner.start(saga)

    def _priced(self, lines: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        if not 1 <= len(lines) <= MAX_ORDER_LINES:
            raise InvalidOrder(f"An order has 1 to {MAX_ORDER_LINES} lines.")
        skus = [sku for sku, _ in lines]
        if len(set(skus)) != len(skus):
            raise InvalidOrder("Each SKU may appear once in an order.")
        items = []
        for sku, quantity in lines:
            check_quantity(quantity)
            product = self.get_product(sku)  # an unknown SKU is not found, as an unknown account
            items.append({"sku": sku, "quantity": quantity, "price": product.price})
        return items

    def get_order(self, order_id: UUID) -> Order:
        order = self.find(order_id, Order)
        if order is None:
            raise OrderNotFound(f"Order {order_id} not found.")
        return order

    def ship_order(self, order_id: UUID, *, after_commit: AfterCommit | None = None) -> Order:
        """Ship a confirmed order as the ShipOrder saga: capture its payment, then ship it and
        commit its stock. Asking again is ``invalid_state`` (the order is shipped), as is
        shipping an order that is not confirmed. A payment whose hold expired before this is
        ``payment_expired``, and the order is then cancelled and its stock released.
        """
        runner = self.runner(OrderShipment, after_commit)
        saga_id = shipment_id(order_id)
        shipment = self.find(saga_id, OrderShipment)
        if shipment is None:
            order = self.get_order(order_id)
            order.check_status(OrderStatus.CONFIRMED, doing="ship")
            shipment = runner.start(self._saga_for(order, OrderShipment, NO_DEADLINE))
        elif shipment.is_finished:  # shipped (or cancelled) by an earlier request
            self.get_order(order_id).check_status(OrderStatus.CONFIRMED, doing="ship")
        else:
            shipment = runner.run(saga_id)  # a shipment a crash interrupted
        if shipment.failure_code == PaymentExpired.code:
            raise PaymentExpired(shipment.failure_reason or f"Order {order_id} is unpaid.")
        if shipment.status != SagaStatus.COMPLETED:
            raise InvalidState(shipment.failure_reason or f"Order {order_id} cannot be shipped.")
        return self.get_order(order_id)

    def cancel_order(self, order_id: UUID, *, after_commit: AfterCommit | None = None) -> Order:
        """Cancel a confirmed order as the CancelOrder saga: its payment given back (the hold
        voided, so no money moves; an order paid by transfer is refunded), its stock released.

        A cancelled order stays cancelled (asking again changes nothing); one still being
        placed, being shipped or shipped is ``invalid_state``.
        """
        runner = self.runner(OrderCancellation, after_commit)
        saga_id = cancellation_id(order_id)
        if self.find(saga_id, OrderCancellation) is not None:
            saga = runner.run(saga_id)
        else:
            order = self.get_order(order_id)
            if order.status == OrderStatus.CANCELLED:
                return order
            order.check_status(OrderStatus.CONFIRMED, doing="cancel")
            deadline = deadline_from_now(self.saga_deadline_seconds)
            saga = runner.start(self._saga_for(order, OrderCancellation, deadline))
        if saga.status != SagaStatus.COMPLETED:
            raise InvalidState(saga.failure_reason or f"Order {order_id} cannot be cancelled.")
        return self.get_order(order_id)

    def _saga_for(self, order: Order, kind: type[S], deadline: datetime) -> S:
        """A saga of a placed order, which pays as the order did (a cancellation, a shipment)."""
        assert order.payment_method is not None, "a confirmed order has paid"
        return kind(
            id=saga_ids(order.id)[kind],
            order_id=order.id,
            customer=order.customer,
            account=order.account,
            items=order.items,
            total=order.total,
            currency=order.currency,
            payment_id=order.payment_id,
            payment=order.payment_method.value,
            deadline=deadline,
        )

    def history_of(self, order_id: UUID) -> tuple[UUID, ...]:
        """The aggregates whose events are an order's history: the order and its sagas (its
        placement, and its cancellation or shipment if it has one)."""
        return (order_id, *saga_ids(order_id).values())

    # --- Sagas -----------------------------------------------------------------------------

    def runner(
        self, kind: type[S], after_commit: AfterCommit | None = None
    ) -> SagaRunner[Ordering, S]:
        """The runner of one kind of order saga (``DEFINITIONS``)."""
        return SagaRunner(
            self, DEFINITIONS[kind], Ordering(self, self.payments), after_commit=after_commit
        )

    def unfinished_sagas(self, older_than_seconds: float = 0.0) -> list[OrderSaga]:
        """Order sagas left mid-way whose last step is older than the given age."""
        now = datetime.now(UTC)
        found: list[OrderSaga] = []
        for saga_class in DEFINITIONS:
            for saga_id in unfinished_saga_ids(self, saga_class):
                saga = self.find(saga_id, saga_class)
                if saga is None or saga.is_finished:
                    continue
                if (now - saga.modified_on).total_seconds() >= older_than_seconds:
                    found.append(saga)
        return found

    def order_sagas(self, order_id: UUID) -> list[OrderSaga]:
        """The sagas of one order that exist: its placement, then its cancellation or shipment."""
        found = (self.find(i, kind) for kind, i in saga_ids(order_id).items())
        return [saga for saga in found if saga is not None]

    def recover_sagas(self, older_than_seconds: float = 0.0) -> list[OrderSaga]:
        """Finish or compensate every order saga left mid-way; return each as it now stands.

        A refund the ledger refuses (the customer's account frozen) leaves its saga waiting for
        the next round rather than stopping the others.
        """
        return [self._resume(saga) for saga in self.unfinished_sagas(older_than_seconds)]

    def resume_order_sagas(self, order_id: UUID) -> list[OrderSaga]:
        """Run the order's unfinished sagas to their end now (an operator's "recover now");
        return all its sagas as they stand. ``OrderNotFound`` if it has none."""
        sagas = self.order_sagas(order_id)
        if not sagas:
            raise OrderNotFound(f"Order {order_id} not found.")
        return [saga if saga.is_finished else self._resume(saga) for saga in sagas]

    def _resume(self, saga: OrderSaga) -> OrderSaga:
        try:
            return self.runner(type(saga)).run(saga.id)
        except RefundRefused as refusal:
            logger.warning("order saga %s waits for its refund: %s", saga.id, refusal)
            return self.load(saga.id)
