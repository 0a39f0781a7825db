"""Orders placed before holds paid by transfer, and their sagas were stored without saying so.
Today's code reads such a saga's start as paying by transfer (``OrderSaga.Started.upcast_v1_v2``)
and resumes it at the step it stopped at, by the same step names: a placement interrupted
anywhere pays once, by transfer; a cancellation refunds by transfer; shipping captures nothing.
No hold is ever placed for them. (``tests/integration/test_store_from_the_past.py`` does the
same with the orders the old code really stored.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.utils import get_topic

from ledger.application import LedgerApplication
from ledger.holds import Hold
from orders.application import OrdersApplication
from orders.domain import OrderStatus, PaymentMethod, PaymentStatus, RefundRefused
from orders.saga import OrderCancellation, Ordering, OrderPlacement, OrderSaga, PlaceOrder
from sagas.engine import SagaRunner, SagaStatus
from tests.fixtures import store_2026_12 as past
from tests.support import (
    SimulatedCrash,
    crash_after,
    funded,
    order_money,
    place_order_before_holds,
    stock,
    stored_before_holds,
)

PLACING = ["succeeded:create_order", "succeeded:reserve_stock", "succeeded:take_payment",
           "succeeded:confirm_order"]  # fmt: skip
CANCELLING = ["succeeded:request_cancellation", "succeeded:refund_payment",
              "succeeded:release_stock", "succeeded:cancel_order"]  # fmt: skip


def money(ledger: LedgerApplication, account: UUID) -> list[tuple[int, int]]:
    """``order_money``, once it is sure no hold was ever placed."""
    assert ledger.notifications_after(0, 1_000, topics=[get_topic(Hold.Placed)]) == []
    return order_money(ledger, account)


def recovered(orders: OrdersApplication, order_id: UUID) -> list[OrderSaga]:
    """The order's sagas once recovery has finished what a crash left (perhaps nothing: a
    saga's last step commits with its end)."""
    orders.recover_sagas()
    assert orders.unfinished_sagas() == []
    return orders.order_sagas(order_id)


def placed_before_holds(ledger: LedgerApplication, orders: OrdersApplication) -> tuple[UUID, UUID]:
    account = funded(ledger, 10_000)
    placement = place_order_before_holds(orders, "alice", account, [("APPLE", 2), ("BREAD", 1)])
    assert placement.status == SagaStatus.COMPLETED
    return account, placement.order_id


@pytest.mark.parametrize("kind", [OrderPlacement, OrderCancellation])
def test_a_start_the_old_code_stored_is_read_as_paying_by_transfer(
    orders: OrdersApplication, kind: type[OrderSaga]
) -> None:
    """The upcaster on the old code's own bytes (``tests/fixtures/store_2026_12``)."""
    topic = get_topic(kind.Started)
    row = next(r for r in past.rows("orders.events.jsonl") if r["topic"] == topic)
    assert "payment" not in json.loads(row["state"])
    started: Any = orders.mapper.to_domain_event(past.stored(row))
    assert (type(started), started.payment) == (kind.Started, "transfer")
    saga = started.mutate(None)
    assert (saga.payment, saga.payment_id) == (PaymentMethod.TRANSFER, started.payment_id)


def test_a_start_stored_before_holds_has_the_old_shape_and_reads_as_paying_by_transfer(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    _, order_id = placed_before_holds(ledger, orders)
    topic = get_topic(OrderPlacement.Started)
    (stored,) = orders.notifications_after(0, 1_000, topics=[topic])
    old = next(
        json.loads(r["state"]) for r in past.rows("orders.events.jsonl") if r["topic"] == topic
    )
    assert set(json.loads(stored.state)) == set(old)  # what the old code wrote: no ``payment``
    (placement,) = orders.order_sagas(order_id)
    assert placement.payment == PaymentMethod.TRANSFER
    order = orders.get_order(order_id)
    assert (order.payment_method, order.payment_status) == (
        PaymentMethod.TRANSFER, PaymentStatus.PROCESSED,
    )  # fmt: skip


@pytest.mark.parametrize("transition", PLACING)
def test_a_placement_stored_before_holds_and_interrupted_pays_once_by_transfer(
    ledger: LedgerApplication, orders: OrdersApplication, transition: str
) -> None:
    account, order_id = funded(ledger, 10_000), uuid4()
    with pytest.raises(SimulatedCrash):
        place_order_before_holds(
            orders, "alice", account, [("APPLE", 2), ("BREAD", 1)],
            order_id=order_id, after_commit=crash_after(transition),
        )  # fmt: skip
    (resumed,) = recovered(orders, order_id)
    assert (resumed.status, resumed.payment) == (SagaStatus.COMPLETED, PaymentMethod.TRANSFER)
    order = orders.get_order(order_id)
    assert (order.status, order.payment_status) == (OrderStatus.CONFIRMED, PaymentStatus.PROCESSED)
    assert stock(orders) == [(5, 2), (1, 1)]
    assert money(ledger, account) == [(9_400, 0), (600, 0)]


def test_a_placement_stored_before_holds_that_ran_out_of_time_is_refunded_by_transfer(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 10_000)
    with pytest.raises(SimulatedCrash):
        place_order_before_holds(orders, "alice", account, [("APPLE", 2)],
                                 after_commit=crash_after("succeeded:reserve_stock"))  # fmt: skip
    (saga,) = orders.unfinished_sagas()
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    placement = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late).run(saga.id)
    assert placement.status == SagaStatus.COMPENSATED
    order = orders.get_order(placement.order_id)
    assert (order.status, order.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.REFUNDED)
    assert stock(orders) == [(5, 0), (1, 0)]
    assert money(ledger, account) == [(10_000, 0), (0, 0)]


@pytest.mark.parametrize("transition", CANCELLING)
def test_a_cancellation_stored_before_holds_and_interrupted_refunds_once_by_transfer(
    ledger: LedgerApplication, orders: OrdersApplication, transition: str
) -> None:
    account, order_id = placed_before_holds(ledger, orders)
    with stored_before_holds(orders), pytest.raises(SimulatedCrash):
        orders.cancel_order(order_id, after_commit=crash_after(transition))
    _, resumed = recovered(orders, order_id)
    assert (resumed.status, resumed.payment) == (SagaStatus.COMPLETED, PaymentMethod.TRANSFER)
    order = orders.get_order(order_id)
    assert (order.status, order.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.REFUNDED)
    assert order.refund_id is not None
    assert stock(orders) == [(5, 0), (1, 0)]
    assert money(ledger, account) == [(10_000, 0), (0, 0)]


def test_an_order_paid_by_transfer_is_cancelled_with_a_refund_by_transfer(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = placed_before_holds(ledger, orders)
    order = orders.cancel_order(order_id)  # a cancellation begun today, of an order of then
    assert (order.status, order.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.REFUNDED)
    assert order.refund_id is not None
    assert ledger.get_transfer(order.refund_id).status == SagaStatus.COMPLETED
    assert money(ledger, account) == [(10_000, 0), (0, 0)]


def test_an_order_paid_by_transfer_ships_with_nothing_to_capture(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = placed_before_holds(ledger, orders)
    order = orders.ship_order(order_id)
    assert (order.status, order.payment_status) == (OrderStatus.SHIPPED, PaymentStatus.PROCESSED)
    assert stock(orders) == [(3, 0), (0, 0)]
    assert money(ledger, account) == [(9_400, 0), (600, 0)]


def test_a_refund_the_customer_account_refuses_waits_and_completes_once_it_accepts(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = placed_before_holds(ledger, orders)
    ledger.freeze_account(account, "compliance review")
    with pytest.raises(RefundRefused):
        orders.cancel_order(order_id)
    assert orders.get_order(order_id).status == OrderStatus.CANCELLING
    assert [s.status for s in orders.recover_sagas()] == [SagaStatus.RUNNING]  # still refused
    ledger.unfreeze_account(account)
    (cancellation,) = orders.recover_sagas()
    assert cancellation.status == SagaStatus.COMPLETED
    assert orders.get_order(order_id).status == OrderStatus.CANCELLED
    assert money(ledger, account) == [(10_000, 0), (0, 0)]
    assert stock(orders) == [(5, 0), (1, 0)]
