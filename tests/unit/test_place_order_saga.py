"""PlaceOrder and CancelOrder on in-memory stores: the step tables, each outcome, exact money and
stock after each, and the payment's compensation when nothing, or everything, happened.

An order pays by hold: placing it sets the total aside on the customer's account (available
down, balance unchanged), cancelling it before it ships voids the hold (nothing moves). Orders
placed before holds, which paid by transfer, are ``test_orders_before_holds.py``'s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ledger.application import LedgerApplication
from ledger.holds import Hold, HoldStatus
from orders.application import OrdersApplication
from orders.domain import (
    InvalidOrder,
    InvalidState,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    ProductNotFound,
)
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
from sagas.engine import DEADLINE_EXCEEDED, AfterCommit, Saga, SagaRunner, SagaStatus
from tests.support import (
    SimulatedCrash,
    crash_after,
    funded,
    order_money,
    payment_hold,
    posted_and_held,
    stock,
)


def merchant(ledger: LedgerApplication) -> UUID:
    return ledger.merchant_account("EUR").id


def hold_events(ledger: LedgerApplication, account: UUID) -> list[str]:
    """What the account recorded of holds, in order."""
    return [
        type(e).__name__
        for e in ledger.stored_events(account)
        if type(e).__name__ in ("DebitHeld", "HoldReleased", "Debited")
    ]


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


def test_an_order_is_confirmed_with_its_stock_reserved_and_its_total_held(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    assert (placement.status, placement.payment) == (SagaStatus.COMPLETED, PaymentMethod.HOLD)
    order = orders.get_order(placement.order_id)
    assert (order.status, order.total, order.payment_id) == (
        OrderStatus.CONFIRMED, 600, placement.payment_id,
    )  # fmt: skip
    assert (order.payment_method, order.payment_status) == (
        PaymentMethod.HOLD, PaymentStatus.AUTHORIZED,
    )  # fmt: skip
    assert order.items == [
        {"sku": "APPLE", "quantity": 2, "price": 150},
        {"sku": "BREAD", "quantity": 1, "price": 300},
    ]
    assert stock(orders) == [(5, 2), (1, 1)]
    assert order_money(ledger, account) == [(10_000, 600), (0, 600)]  # held, not taken
    assert ledger.get_account(account).available == 9_400
    hold = payment_hold(ledger, placement.payment_id)
    assert (hold.status, hold.amount, hold.from_account, hold.to_account, hold.reference) == (
        HoldStatus.PENDING, 600, account, merchant(ledger), f"order {order.id}",
    )  # fmt: skip
    assert ledger.unfinished_transfers() == [] and ledger.find_transfer(hold.id) is None


def test_out_of_stock_on_the_second_item_holds_nothing(
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
    assert stock(orders) == [(5, 0), (1, 0)]
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]
    assert ledger.pending_hold_ids() == []


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("poor", "insufficient_funds"),
        ("frozen", "account_frozen"),
        ("closed", "account_closed"),
        ("merchant_closed", "merchant_unavailable"),
        ("merchant_frozen", "merchant_unavailable"),
        ("dollars", "currency_mismatch"),  # the shop takes euros: the customer's to mend
    ],
)
def test_a_refused_payment_releases_the_stock_and_cancels_the_order(
    ledger: LedgerApplication, orders: OrdersApplication, setup: str, code: str
) -> None:
    currency = "USD" if setup == "dollars" else "EUR"
    cents = {"poor": 100, "closed": 0}.get(setup, 10_000)
    account = funded(ledger, cents, currency=currency)
    if setup == "frozen":
        ledger.freeze_account(account, "review")
    if setup == "closed":
        ledger.close_account(account)
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
    order = orders.get_order(placement.order_id)
    assert (order.status, order.payment_id) == (OrderStatus.CANCELLED, None)
    assert stock(orders, ("APPLE",)) == [(5, 0)]
    assert posted_and_held(ledger, account, merchant(ledger)) == [(cents, 0), (0, 0)]
    assert placement.payment_id is not None
    assert ledger.find(placement.payment_id, Hold) is None  # no hold was stored


def test_funds_already_held_are_not_available_to_the_next_order(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 500)
    first = orders.place_order("alice", account, [("APPLE", 2)])  # 300 held of 500
    second = orders.place_order("alice", account, [("APPLE", 2)])
    assert first.status == SagaStatus.COMPLETED
    assert (second.status, second.failure_code) == (SagaStatus.COMPENSATED, "insufficient_funds")
    assert order_money(ledger, account) == [(500, 300), (0, 300)]


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


def test_the_same_order_id_twice_is_one_order_and_one_hold(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = funded(ledger, 10_000), uuid4()
    first = orders.place_order("alice", account, [("APPLE", 1)], order_id=order_id)
    second = orders.place_order("alice", account, [("APPLE", 1)], order_id=order_id)
    assert first.id == second.id == placement_id(order_id)
    assert stock(orders, ("APPLE",)) == [(5, 1)]
    assert order_money(ledger, account) == [(10_000, 150), (0, 150)]
    assert ledger.pending_hold_ids() == [first.payment_id]


def late() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


def crash_after_reserving(then: Callable[[Saga], object] | None = None) -> AfterCommit:
    """A crash once the stock is reserved (after ``then``: what else committed meanwhile)."""

    def hook(saga: Saga, transition: str) -> None:
        if transition == "succeeded:reserve_stock":
            if then is not None:
                then(saga)
            raise SimulatedCrash(transition)

    return hook


def test_a_hold_placed_but_not_recorded_before_the_deadline_is_voided(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    """The hold committed in the ledger but its step was never recorded here (a crash), and
    the deadline passed: the compensation must find the hold and void it."""
    account = funded(ledger, 10_000)

    def place_the_hold(saga: Saga) -> object:
        return ledger.place_hold(account, merchant(ledger), 150,
                                 hold_id=saga.payment_id)  # type: ignore[attr-defined]  # fmt: skip

    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 1)],
                           after_commit=crash_after_reserving(place_the_hold))  # fmt: skip
    (saga,) = orders.unfinished_sagas()
    runner = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late)
    placement = runner.run(saga.id)
    assert (placement.status, placement.failure_code) == (
        SagaStatus.COMPENSATED, DEADLINE_EXCEEDED,
    )  # fmt: skip
    order = orders.get_order(placement.order_id)
    assert (order.status, order.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.VOIDED)
    assert payment_hold(ledger, saga.payment_id).status == HoldStatus.VOIDED
    assert stock(orders, ("APPLE",)) == [(5, 0)]
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]


def test_a_payment_that_ran_out_of_time_before_it_began_leaves_the_money_where_it_was(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 100)  # too little: the fencing hold is refused, nothing to void
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 1)], after_commit=crash_after_reserving())
    (saga,) = orders.unfinished_sagas()
    placement = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late).run(saga.id)
    assert placement.status == SagaStatus.COMPENSATED
    order = orders.get_order(placement.order_id)
    assert (order.status, order.payment_id, order.payment_status) == (
        OrderStatus.CANCELLED, None, None,
    )  # fmt: skip
    assert stock(orders, ("APPLE",)) == [(5, 0)]
    assert order_money(ledger, account) == [(100, 0), (0, 0)]
    assert saga.payment_id is not None and ledger.find(saga.payment_id, Hold) is None


def test_a_hold_that_ran_out_of_time_is_fenced_so_no_late_request_can_place_it(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    """A request may still be placing the hold when the deadline passes. The compensation
    places it first, by its id, and voids it: a late request's placement then answers the
    voided hold, and holds nothing."""
    account = funded(ledger, 10_000)
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 1)], after_commit=crash_after_reserving())
    (saga,) = orders.unfinished_sagas()
    SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late).run(saga.id)
    assert hold_events(ledger, account) == ["DebitHeld", "HoldReleased"]
    late_request = ledger.place_hold(account, merchant(ledger), 150, hold_id=saga.payment_id)
    assert late_request.status == HoldStatus.VOIDED
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]


def confirmed_order(ledger: LedgerApplication, orders: OrdersApplication) -> tuple[UUID, UUID]:
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    return account, placement.order_id


def test_cancelling_before_shipping_voids_the_hold_and_moves_no_money(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account, order_id = confirmed_order(ledger, orders)
    order = orders.cancel_order(order_id)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "cancelled_on_request")
    assert (order.payment_status, order.refund_id) == (PaymentStatus.VOIDED, None)
    assert payment_hold(ledger, order.payment_id).status == HoldStatus.VOIDED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]
    assert hold_events(ledger, account) == ["DebitHeld", "HoldReleased"]  # nothing posted
    assert orders.cancel_order(order_id).version == order.version  # again: nothing more


def test_cancelling_an_order_whose_hold_expired_releases_its_stock(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    orders.payment_hold_seconds = 0  # the hold is due the moment it is placed
    account, order_id = confirmed_order(ledger, orders)
    order = orders.cancel_order(order_id)
    assert (order.status, order.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.EXPIRED)
    assert payment_hold(ledger, order.payment_id).status == HoldStatus.EXPIRED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]


def test_a_frozen_account_does_not_stop_a_cancellation(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    """A void gives back what was only set aside, so it is never refused (a refund by transfer
    into a frozen account is: ``test_orders_before_holds.py``)."""
    account, order_id = confirmed_order(ledger, orders)
    ledger.freeze_account(account, "compliance review")
    assert orders.cancel_order(order_id).status == OrderStatus.CANCELLED
    assert order_money(ledger, account) == [(10_000, 0), (0, 0)]


def test_a_pending_order_cannot_be_cancelled_by_request(
    ledger: LedgerApplication, orders: OrdersApplication
) -> None:
    account = funded(ledger, 10_000)

    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 1)],
                           after_commit=crash_after("succeeded:create_order"))  # fmt: skip
    (saga,) = orders.unfinished_sagas()
    with pytest.raises(InvalidState):
        orders.cancel_order(saga.order_id)
    with pytest.raises(InvalidState):
        orders.ship_order(saga.order_id)
