"""Product and Order: stock held by order id and never below zero; an order's lifecycle."""

from __future__ import annotations

from uuid import uuid4

import pytest

from orders.domain import (
    InvalidOrder,
    InvalidState,
    Order,
    OrderStatus,
    OutOfStock,
    PaymentMethod,
    PaymentStatus,
    Product,
    product_id,
    status_history,
)


def product(stock: int = 5) -> Product:
    return Product.create("APPLE", "apple", 150, stock)


def test_a_product_id_follows_from_its_sku() -> None:
    assert product().id == product_id("APPLE") != product_id("PEAR")


def test_reserving_holds_stock_once_per_order_and_releasing_gives_it_back() -> None:
    p, order = product(5), uuid4()
    p.reserve(order, 3)
    p.reserve(order, 3)  # the same step again: a resumed saga
    assert (p.on_hand, p.reserved, p.available) == (5, 3, 2)
    p.release(order)
    p.release(order)
    assert (p.on_hand, p.reserved, p.available) == (5, 0, 5)
    p.reserve(order, 3)  # a settled order holds nothing again
    assert p.available == 5


def test_a_reservation_that_does_not_fit_is_refused_whole() -> None:
    p = product(2)
    p.reserve(uuid4(), 2)
    with pytest.raises(OutOfStock):
        p.reserve(uuid4(), 1)
    assert (p.reserved, p.available) == (2, 0)


def test_releasing_what_was_never_held_changes_nothing() -> None:
    p = product()
    p.release(uuid4())
    assert len(p.collect_events()) == 1  # only Created


def test_committing_takes_the_reserved_stock_off_the_shelf_once() -> None:
    p, order = product(5), uuid4()
    p.reserve(order, 2)
    p.commit(order)
    p.commit(order)
    assert (p.on_hand, p.reserved, p.available) == (3, 0, 3)
    with pytest.raises(InvalidState):
        p.commit(uuid4())


def test_stock_is_added_once_per_reference() -> None:
    p = product(0)
    p.add_stock(4, "delivery-1")
    p.add_stock(4, "delivery-1")
    assert p.available == 4


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_bad_quantities_are_refused(quantity: int) -> None:
    with pytest.raises(InvalidOrder):
        product().reserve(uuid4(), quantity)


def new_order() -> Order:
    items = [{"sku": "APPLE", "quantity": 2, "price": 150}]
    return Order(id=uuid4(), customer="alice", account=uuid4(), items=items, total=300,
                 currency="EUR")  # fmt: skip


def test_an_order_paid_by_hold_ships_only_once_its_payment_is_captured() -> None:
    order, hold = new_order(), uuid4()
    order.record_authorization(hold)
    order.record_authorization(uuid4())  # recorded once
    order.confirm()
    assert (order.payment_id, order.payment_method, order.payment_status, order.pending_hold) == (
        hold, PaymentMethod.HOLD, PaymentStatus.AUTHORIZED, hold,
    )  # fmt: skip
    with pytest.raises(InvalidState):
        order.ship()  # a shipment is requested first
    order.request_shipment()
    order.request_shipment()
    with pytest.raises(InvalidState):
        order.request_cancellation()  # being shipped
    with pytest.raises(InvalidState):
        order.ship()  # not captured yet
    order.record_capture()
    order.record_void()  # captured: nothing left to void
    order.ship()
    order.ship()  # the step again (a resumed saga): nothing more
    assert (order.status, order.payment_status, order.pending_hold) == (
        OrderStatus.SHIPPED, PaymentStatus.CAPTURED, None,
    )  # fmt: skip
    with pytest.raises(InvalidState):
        order.request_cancellation()
    with pytest.raises(InvalidState):
        order.request_shipment()
    history = status_history(order.collect_events())
    assert [h["status"] for h in history] == ["pending", "confirmed", "shipping", "shipped"]


def test_an_order_paid_by_transfer_ships_with_nothing_to_capture() -> None:
    order = new_order()
    order.record_payment(uuid4())
    order.confirm()
    order.request_shipment()
    order.record_capture()  # nothing authorised: nothing recorded
    order.ship()
    assert (order.status, order.payment_method, order.payment_status) == (
        OrderStatus.SHIPPED, PaymentMethod.TRANSFER, PaymentStatus.PROCESSED,
    )  # fmt: skip


def test_an_order_whose_payment_expired_while_shipping_is_cancelled() -> None:
    order = new_order()
    order.record_authorization(uuid4())
    order.confirm()
    order.request_shipment()
    order.record_expiry()
    order.record_capture()  # expired: nothing to capture
    order.cancel("payment_expired")
    assert (order.status, order.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.EXPIRED)


def test_a_confirmed_order_paid_by_hold_is_cancelled_with_its_hold_voided() -> None:
    order = new_order()
    order.record_authorization(uuid4())
    order.confirm()
    order.request_cancellation()
    with pytest.raises(InvalidState):
        order.request_shipment()
    order.record_void()
    order.record_expiry()  # voided already: recorded once
    order.record_refund(uuid4())  # nothing was taken by transfer: nothing to refund
    order.cancel("cancelled_on_request")
    assert (order.status, order.payment_status, order.refund_id) == (
        OrderStatus.CANCELLED, PaymentStatus.VOIDED, None,
    )  # fmt: skip


def test_a_confirmed_order_is_cancelled_through_cancelling_and_stays_cancelled() -> None:
    order, payment, refund = new_order(), uuid4(), uuid4()
    order.record_payment(payment)
    order.confirm()
    order.request_cancellation()
    with pytest.raises(InvalidState):
        order.ship()  # cancellation has begun: the stock is on its way back
    order.record_refund(refund)
    order.record_refund(uuid4())
    order.cancel("cancelled_on_request")
    order.cancel("again")
    assert (order.status, order.payment_id, order.refund_id, order.cancel_reason) == (
        OrderStatus.CANCELLED, payment, refund, "cancelled_on_request",
    )  # fmt: skip
    history = status_history(order.collect_events())
    assert [h["status"] for h in history] == ["pending", "confirmed", "cancelling", "cancelled"]


def test_a_pending_order_can_be_cancelled_by_its_saga_but_not_requested() -> None:
    order = new_order()
    with pytest.raises(InvalidState):
        order.request_cancellation()  # the customer waits for the placement to end
    order.cancel("out_of_stock")
    assert order.status == OrderStatus.CANCELLED
    with pytest.raises(InvalidState):
        order.confirm()
