"""ShipOrder on in-memory stores: shipping captures the order's hold (the money moves only now),
then ships it and commits its stock; a hold that expired first cancels the order instead; and a
shipment under way shuts out a cancellation, as a cancellation under way shuts out shipping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from ledger.application import LedgerApplication
from ledger.holds import HoldStatus
from orders.application import OrdersApplication
from orders.domain import InvalidState, OrderStatus, PaymentExpired, PaymentStatus
from orders.saga import (
    NO_DEADLINE,
    Ordering,
    ShipOrder,
    cancel_unpaid_order,
    capture_payment,
    request_shipment,
    ship_order,
    shipment_id,
)
from sagas.engine import SagaRunner, SagaStatus
from tests.support import SimulatedCrash, crash_after, funded, order_money, payment_hold, stock


def confirmed_order(ledger: LedgerApplication, orders: OrdersApplication) -> tuple[UUID, UUID]:
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    assert placement.status == SagaStatus.COMPLETED
    return account, placement.order_id


def test_ship_order_reads_as_its_steps_each_beside_its_compensation() -> None:
    assert [(s.name, s.action, s.compensation, s.pivot, s.remote) for s in ShipOrder.steps] == [
        ("request_shipment", request_shipment, cancel_unpaid_order, False, False),
        ("capture_payment", capture_payment, None, True, True),
        ("ship_order", ship_order, None, False, False),
    ]


def test_shipping_captures_the_hold_and_commits_the_stock(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    order = orders.ship_order(order_id)
    assert (order.status, order.payment_status) == (OrderStatus.SHIPPED, PaymentStatus.CAPTURED)
    assert payment_hold(ledger, order.payment_id).status == HoldStatus.CAPTURED
    assert stock(orders) == [(3, 0), (0, 0)]
    assert order_money(ledger, account) == [(9_400, 0), (600, 0)]
    (shipment,) = [s for s in orders.order_sagas(order_id) if s.id == shipment_id(order_id)]
    assert (shipment.status, shipment.deadline) == (SagaStatus.COMPLETED, NO_DEADLINE)
    assert [(h["name"], h["status"]) for h in shipment.history] == [
        ("request_shipment", "succeeded"),
        ("capture_payment", "succeeded"),
        ("ship_order", "succeeded"),
    ]


def test_a_shipped_order_is_shipped_once_and_cannot_be_cancelled(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    orders.ship_order(order_id)
    with pytest.raises(InvalidState):
        orders.ship_order(order_id)
    with pytest.raises(InvalidState):
        orders.cancel_order(order_id)
    assert order_money(ledger, account) == [(9_400, 0), (600, 0)]
    assert stock(orders) == [(3, 0), (0, 0)]


def test_a_hold_that_expired_before_shipping_cancels_the_order_and_releases_its_stock(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    orders.payment_hold_seconds = 0  # the hold is due the moment it is placed
    account, order_id = confirmed_order(ledger, orders)
    with pytest.raises(PaymentExpired) as refused:
        orders.ship_order(order_id)
    assert refused.value.code == "payment_expired"
    order = orders.get_order(order_id)
    assert (order.status, order.cancel_reason, order.payment_status) == (
        OrderStatus.CANCELLED, "payment_expired", PaymentStatus.EXPIRED,
    )  # fmt: skip
    assert payment_hold(ledger, order.payment_id).status == HoldStatus.EXPIRED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]
    (shipment,) = [s for s in orders.order_sagas(order_id) if s.id == shipment_id(order_id)]
    assert (shipment.status, shipment.failure_code) == (SagaStatus.COMPENSATED, "payment_expired")
    with pytest.raises(InvalidState):
        orders.ship_order(order_id)  # asked again: the order is cancelled
    assert orders.cancel_order(order_id).version == order.version


def test_a_cancelled_order_cannot_be_shipped(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    _, order_id = confirmed_order(ledger, orders)
    orders.cancel_order(order_id)
    with pytest.raises(InvalidState):
        orders.ship_order(order_id)
    assert orders.order_sagas(order_id)[-1].id != shipment_id(order_id)  # none was started


def test_an_order_being_shipped_cannot_be_cancelled_and_its_shipment_is_resumed(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    with pytest.raises(SimulatedCrash):
        orders.ship_order(order_id, after_commit=crash_after("succeeded:request_shipment"))
    assert orders.get_order(order_id).status == OrderStatus.SHIPPING
    with pytest.raises(InvalidState):
        orders.cancel_order(order_id)
    assert orders.ship_order(order_id).status == OrderStatus.SHIPPED  # the same shipment, resumed
    assert order_money(ledger, account) == [(9_400, 0), (600, 0)]


def test_an_order_being_cancelled_cannot_be_shipped(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    with pytest.raises(SimulatedCrash):
        orders.cancel_order(order_id, after_commit=crash_after("succeeded:request_cancellation"))
    with pytest.raises(InvalidState):
        orders.ship_order(order_id)
    (cancellation,) = [s for s in orders.recover_sagas() if s.order_id == order_id]
    assert cancellation.status == SagaStatus.COMPLETED
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]
    assert stock(orders) == [(5, 0), (1, 0)]


def test_a_capture_the_ledger_made_before_a_crash_is_recorded_by_recovery_however_late(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    hold_id = payment_hold(ledger, orders.get_order(order_id).payment_id).id
    with pytest.raises(SimulatedCrash):
        orders.ship_order(order_id, after_commit=crash_after("succeeded:request_shipment"))
    ledger.capture_hold(hold_id)  # the step's capture committed; its record here did not
    a_week_later = datetime.now(UTC) + timedelta(days=8)
    assert ledger.expire_holds(now=a_week_later) == []  # captured: nothing to expire
    runner = SagaRunner(orders, ShipOrder, Ordering(orders, ledger), clock=lambda: a_week_later)
    shipment = runner.run(shipment_id(order_id))  # no deadline of its own cuts it short
    assert shipment.status == SagaStatus.COMPLETED
    assert orders.get_order(order_id).payment_status == PaymentStatus.CAPTURED
    assert order_money(ledger, account) == [(9_400, 0), (600, 0)]
