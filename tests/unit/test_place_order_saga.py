"""PlaceOrder and CancelOrder on in-memory stores: the step table, each outcome, exact money and
stock after each, and the payment's compensation when nothing, or everything, happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ledger.application import LedgerApplication
from orders.application import OrdersApplication
from orders.domain import InvalidOrder, InvalidState, OrderStatus, ProductNotFound, RefundRefused
from orders.saga import (
    CancelOrder,
    Ordering,
    PlaceOrder,
    cancel_order,
    confirm_order,
    create_order,
    placement_id,
    refund_payment,
    release_stock,
    request_cancellation,
    reserve_stock,
    take_payment,
)
from sagas.engine import DEADLINE_EXCEEDED, Saga, SagaRunner, SagaStatus
from tests.support import balances, funded
from tests.unit.conftest import IN_MEMORY


@pytest.fixture
def orders(ledger: LedgerApplication) -> OrdersApplication:
    app = OrdersApplication(env=IN_MEMORY)
    app.payments = ledger
    app.create_product("APPLE", "apple", 150, 5)
    app.create_product("BREAD", "bread", 300, 1)
    return app


def stock(orders: OrdersApplication, *skus: str) -> list[tuple[int, int]]:
    """(on hand, reserved) of each product."""
    return [(p.on_hand, p.reserved) for p in map(orders.get_product, skus)]


def merchant(ledger: LedgerApplication) -> UUID:
    return ledger.merchant_account("EUR").id


def test_place_order_reads_as_its_steps_each_beside_its_compensation() -> None:
    assert [(s.name, s.action, s.compensation, s.pivot, s.remote) for s in PlaceOrder.steps] == [
        ("create_order", create_order, cancel_order, False, False),
        ("reserve_stock", reserve_stock, release_stock, False, False),
        ("take_payment", take_payment, refund_payment, True, True),
        ("confirm_order", confirm_order, None, False, False),
    ]


def test_cancel_order_goes_only_forward_once_cancellation_is_requested() -> None:
    assert [(s.name, s.action, s.compensation, s.pivot) for s in CancelOrder.steps] == [
        ("request_cancellation", request_cancellation, None, True),
        ("refund_payment", refund_payment, None, False),
        ("release_stock", release_stock, None, False),
        ("cancel_order", cancel_order, None, False),
    ]


def test_an_order_is_confirmed_with_its_stock_held_and_its_payment_taken(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    assert placement.status == SagaStatus.COMPLETED
    order = orders.get_order(placement.order_id)
    assert (order.status, order.total, order.payment_id) == (
        OrderStatus.CONFIRMED, 600, placement.payment_id,
    )  # fmt: skip
    assert order.items == [
        {"sku": "APPLE", "quantity": 2, "price": 150},
        {"sku": "BREAD", "quantity": 1, "price": 300},
    ]
    assert stock(orders, "APPLE", "BREAD") == [(5, 2), (1, 1)]
    assert balances(ledger, account, merchant(ledger)) == [9_400, 600]


def test_out_of_stock_on_the_second_item_holds_nothing_and_takes_nothing(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 2)])
    assert (placement.status, placement.failure_code) == (SagaStatus.COMPENSATED, "out_of_stock")
    assert [(h["name"], h["status"]) for h in placement.history] == [
        ("create_order", "succeeded"),
        ("reserve_stock", "failed"),
        ("create_order", "compensated"),
    ]
    order = orders.get_order(placement.order_id)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "out_of_stock")
    assert stock(orders, "APPLE", "BREAD") == [(5, 0), (1, 0)]
    assert balances(ledger, account) == [10_000]


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("poor", "insufficient_funds"),
        ("frozen", "account_frozen"),
        ("merchant_closed", "merchant_unavailable"),
        ("merchant_frozen", "merchant_unavailable"),
        ("dollars", "currency_mismatch"),  # the shop takes euros: the customer's to mend
    ],
)
def test_a_refused_payment_releases_the_stock_and_cancels_the_order(
    ledger: LedgerApplication, orders: OrdersApplication, setup: str, code: str
) -> None:
    currency = "USD" if setup == "dollars" else "EUR"
    account = funded(ledger, 100 if setup == "poor" else 10_000, currency=currency)
    if setup == "frozen":
        ledger.freeze_account(account, "review")
    if setup == "merchant_closed":
        ledger.close_account(merchant(ledger))
    if setup == "merchant_frozen":
        ledger.freeze_account(merchant(ledger), "review")
    placement = orders.place_order("alice", account, [("APPLE", 2)])
    assert (placement.status, placement.failure_code) == (SagaStatus.COMPENSATED, code)
    assert [(h["name"], h["status"]) for h in placement.history][-3:] == [
        ("take_payment", "failed"),
        ("reserve_stock", "compensated"),
        ("create_order", "compensated"),
    ]
    assert orders.get_order(placement.order_id).status == OrderStatus.CANCELLED
    assert stock(orders, "APPLE") == [(5, 0)]
    assert balances(ledger, account, merchant(ledger)) == [100 if setup == "poor" else 10_000, 0]


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([], InvalidOrder),
        ([("APPLE", 1), ("APPLE", 1)], InvalidOrder),
        ([("APPLE", 0)], InvalidOrder),
        ([("NOPE", 1)], ProductNotFound),
    ],
)
def test_bad_orders_are_rejected_before_anything_starts(
    ledger: LedgerApplication, orders: OrdersApplication, lines: list, error: type
) -> None:
    account = funded(ledger, 10_000)
    before = orders.max_position()
    with pytest.raises(error):
        orders.place_order("alice", account, lines)
    assert orders.max_position() == before


def test_the_same_order_id_twice_is_one_order(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = funded(ledger, 10_000), uuid4()
    first = orders.place_order("alice", account, [("APPLE", 1)], order_id=order_id)
    second = orders.place_order("alice", account, [("APPLE", 1)], order_id=order_id)
    assert first.id == second.id == placement_id(order_id)
    assert stock(orders, "APPLE") == [(5, 1)]
    assert balances(ledger, account) == [9_850]


def late() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


def test_a_payment_that_ran_out_of_time_is_refunded_when_it_was_taken(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    """The payment committed in the ledger but its step was never recorded here (a crash),
    and the deadline passed: the compensation must find the money taken and give it back."""
    account = funded(ledger, 10_000)

    def crash_after_payment(saga: Saga, transition: str) -> None:
        if transition == "succeeded:reserve_stock":
            ledger.transfer_funds(account, merchant(ledger), 150,
                                  transfer_id=saga.payment_id)  # type: ignore[attr-defined]  # fmt: skip
            raise RuntimeError("crash: the ledger committed, the orders store did not")

    with pytest.raises(RuntimeError):
        orders.place_order("alice", account, [("APPLE", 1)], after_commit=crash_after_payment)
    (saga,) = orders.unfinished_sagas()
    runner = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late)
    placement = runner.run(saga.id)
    assert (placement.status, placement.failure_code) == (
        SagaStatus.COMPENSATED, DEADLINE_EXCEEDED,
    )  # fmt: skip
    order = orders.get_order(placement.order_id)
    assert order.status == OrderStatus.CANCELLED
    assert order.payment_id is not None and order.refund_id is not None
    assert stock(orders, "APPLE") == [(5, 0)]
    assert balances(ledger, account, merchant(ledger)) == [10_000, 0]


def test_a_payment_that_ran_out_of_time_before_it_began_leaves_the_money_where_it_was(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 100)  # too little: the fenced payment fails, nothing to refund

    def crash(saga: Saga, transition: str) -> None:
        if transition == "succeeded:reserve_stock":
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        orders.place_order("alice", account, [("APPLE", 1)], after_commit=crash)
    (saga,) = orders.unfinished_sagas()
    placement = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late).run(saga.id)
    assert placement.status == SagaStatus.COMPENSATED
    order = orders.get_order(placement.order_id)
    assert (order.status, order.payment_id, order.refund_id) == (OrderStatus.CANCELLED, None, None)
    assert stock(orders, "APPLE") == [(5, 0)]
    assert balances(ledger, account, merchant(ledger)) == [100, 0]


def confirmed_order(ledger: LedgerApplication, orders: OrdersApplication) -> tuple[UUID, UUID]:
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    return account, placement.order_id


def test_cancelling_a_confirmed_order_refunds_and_releases(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    order = orders.cancel_order(order_id)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "cancelled_on_request")
    assert order.refund_id is not None
    assert stock(orders, "APPLE", "BREAD") == [(5, 0), (1, 0)]
    assert balances(ledger, account, merchant(ledger)) == [10_000, 0]
    assert orders.cancel_order(order_id).version == order.version  # again: nothing more


def test_shipping_commits_the_stock_and_a_shipped_order_cannot_be_cancelled(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    assert orders.ship_order(order_id).status == OrderStatus.SHIPPED
    assert stock(orders, "APPLE", "BREAD") == [(3, 0), (0, 0)]
    with pytest.raises(InvalidState):
        orders.cancel_order(order_id)
    with pytest.raises(InvalidState):
        orders.ship_order(order_id)
    assert balances(ledger, account, merchant(ledger)) == [9_400, 600]


def test_a_cancelled_order_cannot_be_shipped(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    _, order_id = confirmed_order(ledger, orders)
    orders.cancel_order(order_id)
    with pytest.raises(InvalidState):
        orders.ship_order(order_id)


def test_a_refund_the_customer_account_refuses_waits_and_completes_once_it_accepts(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    ledger.freeze_account(account, "compliance review")
    with pytest.raises(RefundRefused):
        orders.cancel_order(order_id)
    assert orders.get_order(order_id).status == OrderStatus.CANCELLING
    assert [s.status for s in orders.recover_sagas()] == [SagaStatus.RUNNING]  # still refused
    ledger.unfreeze_account(account)
    (cancellation,) = orders.recover_sagas()
    assert cancellation.status == SagaStatus.COMPLETED
    assert orders.get_order(order_id).status == OrderStatus.CANCELLED
    assert balances(ledger, account, merchant(ledger)) == [10_000, 0]
    assert stock(orders, "APPLE", "BREAD") == [(5, 0), (1, 0)]


def test_a_pending_order_cannot_be_cancelled_by_request(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 10_000)

    def crash(saga: Saga, transition: str) -> None:
        if transition == "succeeded:create_order":
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        orders.place_order("alice", account, [("APPLE", 1)], after_commit=crash)
    (saga,) = orders.unfinished_sagas()
    with pytest.raises(InvalidState):
        orders.cancel_order(saga.order_id)
