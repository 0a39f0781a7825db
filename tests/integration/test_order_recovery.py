"""Order sagas interrupted at every step boundary, across the orders and ledger stores, end
exactly right: each order confirmed, shipped or cancelled, every unit of stock and every cent in
place, and nothing left held for an order that has ended.

Two kinds of crash. One after each transition the orders store commits (raised from the
runner's after-commit hook). One right after the *ledger's* store commits a payment's move — a
hold placed, captured or voided; for an order paid by transfer, each transition of the payment
or refund transfer — which is the crash between the two stores: the ledger has moved, the
orders store has not heard. Recovery (``recover_sagas``) must finish or compensate every saga.
Each order pays by hold, or, as orders placed before holds did, by transfer (its sagas stored
in that code's shape). The same proof runs with the two stores in two PostgreSQL databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from config.container import Container, build_container
from ledger.application import LedgerApplication
from ops.recovery import recover
from orders.application import OrdersApplication
from orders.domain import OrderStatus, PaymentMethod
from orders.payments import HoldOutcome, TransferOutcome
from orders.saga import Ordering, OrderPlacement, PlaceOrder
from sagas.engine import AfterCommit, SagaRunner, SagaStatus
from tests.conftest import CONTEXTS, admin_connection, database_url, postgres_server_url
from tests.support import (
    SimulatedCrash,
    crash_after,
    funded,
    order_money,
    place_order_before_holds,
    stock,
    stored_before_holds,
)

LINES = [("APPLE", 2), ("BREAD", 1)]  # 6.00 of a shop with 5 apples and 1 loaf
Money = list[tuple[int, int]]
PAID_BY = [PaymentMethod.HOLD, PaymentMethod.TRANSFER]
# (customer's posted, held), (merchant's posted, expected), after each way an order can end;
# and (on hand, reserved) of the apples and the loaf.
HELD = [(10_000, 600), (0, 600)]
PAID = [(9_400, 0), (600, 0)]
UNTOUCHED = [(10_000, 0), (0, 0)]
CONFIRMED = {PaymentMethod.HOLD: HELD, PaymentMethod.TRANSFER: PAID}
RESERVED, RELEASED, SHIPPED = [(5, 2), (1, 1)], [(5, 0), (1, 0)], [(3, 0), (0, 0)]


class LedgerCrashing:
    """The ledger's application API, crashing once the ledger has committed ``what``: a move of
    a hold (``place_hold``, ``capture_hold``, ``void_hold``), or a transition of a transfer
    (``succeeded:debit_source``)."""

    def __init__(self, ledger: LedgerApplication, what: str) -> None:
        self.ledger, self.what = ledger, what

    def merchant_account(self, currency: str) -> Any:
        return self.ledger.merchant_account(currency)

    def owner_of(self, account_id: UUID) -> str:
        return self.ledger.owner_of(account_id)

    def get_hold(self, hold_id: UUID) -> HoldOutcome:
        return self.ledger.get_hold(hold_id)

    def find_transfer(self, transfer_id: UUID) -> TransferOutcome | None:
        return self.ledger.find_transfer(transfer_id)

    def place_hold(self, *args: Any, **kwargs: Any) -> HoldOutcome:
        return self._crashing("place_hold", self.ledger.place_hold(*args, **kwargs))

    def capture_hold(self, hold_id: UUID) -> HoldOutcome:
        return self._crashing("capture_hold", self.ledger.capture_hold(hold_id))

    def void_hold(self, hold_id: UUID) -> HoldOutcome:
        return self._crashing("void_hold", self.ledger.void_hold(hold_id))

    def transfer_funds(self, *args: Any, **kwargs: Any) -> TransferOutcome:
        return self.ledger.transfer_funds(*args, after_commit=crash_after(self.what), **kwargs)

    def _crashing(self, move: str, hold: HoldOutcome) -> HoldOutcome:
        if move == self.what:
            raise SimulatedCrash(move)
        return hold


@pytest.fixture(params=["shared", "federated"] if postgres_server_url() else ["shared"])
def apps(request: pytest.FixtureRequest) -> Iterator[Container]:
    """The container on the usual fresh stores, or with each context in a PostgreSQL database
    of its own (the federated set-up; PostgreSQL leg only — on SQLite every store is a file
    of its own already)."""
    if request.param == "shared":
        yield request.getfixturevalue("container")
        return
    server = request.getfixturevalue("postgres_url")
    names = {c: f"eventbank_test_{c}_{uuid4().hex[:8]}" for c in CONTEXTS}
    with admin_connection(server) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    small_pools = "pool_size=2&max_overflow=2"
    built = build_container({c: database_url(server, db, small_pools) for c, db in names.items()})
    try:
        yield built
    finally:
        built.close()
        with admin_connection(server) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def shop(apps: Container) -> tuple[OrdersApplication, LedgerApplication]:
    apps.orders.create_product("APPLE", "apple", 150, 5)
    apps.orders.create_product("BREAD", "bread", 300, 1)
    return apps.orders, apps.ledger


def place(
    orders: OrdersApplication,
    paid_by: PaymentMethod,
    account: UUID,
    lines: list[tuple[str, int]] = LINES,
    after_commit: AfterCommit | None = None,
) -> OrderPlacement:
    """Place an order that pays by hold, or by transfer as the code before holds did."""
    if paid_by == PaymentMethod.HOLD:
        return orders.place_order("alice", account, lines, after_commit=after_commit)
    return place_order_before_holds(orders, "alice", account, lines, after_commit=after_commit)


def the_order(orders: OrdersApplication) -> Any:
    (order_id,) = {
        n.originator_id for n in orders.notifications_after(0, 1000) if "Order.Created" in n.topic
    }
    return orders.get_order(UUID(str(order_id)))


def ended(apps: Container, account: UUID) -> tuple[OrderStatus, list[tuple[int, int]], Money]:
    """Once recovery has run (twice: the second finds nothing left): the order's status, the
    stock, and the money (``order_money``: the books checked), after checking that the only
    hold still pending is a confirmed order's own."""
    recover(apps, 0.0)
    assert recover(apps, 0.0) == []
    assert apps.orders.unfinished_sagas() == [] and apps.ledger.unfinished_transfers() == []
    order = the_order(apps.orders)
    live = order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.HOLD
    assert apps.ledger.pending_hold_ids() == ([order.payment_id] if live else [])
    return order.status, stock(apps.orders), order_money(apps.ledger, account)


# The transitions each saga commits, in order (a start commits with its first step, an end
# with its last step or compensation); a crash after any of them must be recoverable.
CONFIRMING = [
    "succeeded:create_order",
    "succeeded:reserve_stock",
    "succeeded:take_payment",
    "succeeded:confirm_order",
]
# What the ledger commits of a payment, by how the order pays.
BY_TRANSFER = ["succeeded:debit_source", "succeeded:credit_destination"]
PAYING = [(PaymentMethod.HOLD, "place_hold"), *((PaymentMethod.TRANSFER, t) for t in BY_TRANSFER)]
GIVING_BACK = [
    (PaymentMethod.HOLD, "void_hold"),
    *((PaymentMethod.TRANSFER, t) for t in BY_TRANSFER),
]


@pytest.mark.parametrize("paid_by", PAID_BY)
@pytest.mark.parametrize("transition", CONFIRMING)
def test_a_crash_after_each_step_of_a_confirming_order_is_recovered(
    apps: Container, paid_by: PaymentMethod, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    with pytest.raises(SimulatedCrash):
        place(orders, paid_by, account, after_commit=crash_after(transition))
    assert ended(apps, account) == (OrderStatus.CONFIRMED, RESERVED, CONFIRMED[paid_by])
    assert the_order(orders).payment_method == paid_by


@pytest.mark.parametrize(("paid_by", "what"), PAYING)
def test_a_crash_inside_the_payment_in_the_ledger_store_is_recovered(
    apps: Container, paid_by: PaymentMethod, what: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    orders.payments = LedgerCrashing(ledger, what)
    with pytest.raises(SimulatedCrash):
        place(orders, paid_by, account)
    orders.payments = ledger
    assert ended(apps, account) == (OrderStatus.CONFIRMED, RESERVED, CONFIRMED[paid_by])


OUT_OF_STOCK = ["succeeded:create_order", "failed:reserve_stock", "compensated:create_order"]
PAYMENT_REFUSED = [
    "succeeded:create_order",
    "succeeded:reserve_stock",
    "failed:take_payment",
    "compensated:reserve_stock",
    "compensated:create_order",
]


@pytest.mark.parametrize(
    ("refusal", "transition"),
    [("out_of_stock", t) for t in OUT_OF_STOCK]
    + [(r, t) for r in ("insufficient_funds", "merchant_closed") for t in PAYMENT_REFUSED],
)
def test_a_crash_after_each_step_of_a_cancelled_order_is_recovered(
    apps: Container, refusal: str, transition: str
) -> None:
    orders, ledger = shop(apps)
    cents = 100 if refusal == "insufficient_funds" else 10_000
    account = funded(ledger, cents)
    if refusal == "merchant_closed":
        ledger.close_account(ledger.merchant_account("EUR").id)
    quantity = 2 if refusal == "out_of_stock" else 1
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 2), ("BREAD", quantity)],
                           after_commit=crash_after(transition))  # fmt: skip
    assert ended(apps, account) == (OrderStatus.CANCELLED, RELEASED, [(cents, 0), (0, 0)])
    code = "merchant_unavailable" if refusal == "merchant_closed" else refusal
    assert the_order(orders).cancel_reason == code


@pytest.mark.parametrize(("paid_by", "what"), PAYING)
def test_a_payment_crashed_in_the_ledger_and_then_out_of_time_is_given_back_exactly_once(
    apps: Container, paid_by: PaymentMethod, what: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    orders.payments = LedgerCrashing(ledger, what)
    with pytest.raises(SimulatedCrash):
        place(orders, paid_by, account)
    orders.payments = ledger
    (saga,) = orders.unfinished_sagas()
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    runner = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late)
    assert runner.run(saga.id).status == SagaStatus.COMPENSATED
    assert ended(apps, account) == (OrderStatus.CANCELLED, RELEASED, UNTOUCHED)


CANCELLING = [
    "succeeded:request_cancellation",
    "succeeded:refund_payment",
    "succeeded:release_stock",
    "succeeded:cancel_order",
]


def cancel(orders: OrdersApplication, paid_by: PaymentMethod, order_id: UUID, **kwargs: Any) -> Any:
    """Cancel the order; one paid by transfer, as the code before holds did."""
    if paid_by == PaymentMethod.HOLD:
        return orders.cancel_order(order_id, **kwargs)
    with stored_before_holds(orders):
        return orders.cancel_order(order_id, **kwargs)


@pytest.mark.parametrize("paid_by", PAID_BY)
@pytest.mark.parametrize("transition", CANCELLING)
def test_a_crash_after_each_step_of_a_cancellation_is_recovered(
    apps: Container, paid_by: PaymentMethod, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    placement = place(orders, paid_by, account)
    with pytest.raises(SimulatedCrash):
        cancel(orders, paid_by, placement.order_id, after_commit=crash_after(transition))
    assert ended(apps, account) == (OrderStatus.CANCELLED, RELEASED, UNTOUCHED)


@pytest.mark.parametrize(("paid_by", "what"), GIVING_BACK)
def test_a_crash_inside_the_void_or_refund_in_the_ledger_store_is_recovered(
    apps: Container, paid_by: PaymentMethod, what: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    placement = place(orders, paid_by, account)
    orders.payments = LedgerCrashing(ledger, what)
    with pytest.raises(SimulatedCrash):
        cancel(orders, paid_by, placement.order_id)
    orders.payments = ledger
    assert ended(apps, account) == (OrderStatus.CANCELLED, RELEASED, UNTOUCHED)


SHIPPING = ["succeeded:request_shipment", "succeeded:capture_payment", "succeeded:ship_order"]


@pytest.mark.parametrize("paid_by", PAID_BY)
@pytest.mark.parametrize("transition", SHIPPING)
def test_a_crash_after_each_step_of_a_shipment_is_recovered(
    apps: Container, paid_by: PaymentMethod, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    placement = place(orders, paid_by, account)
    with pytest.raises(SimulatedCrash):
        orders.ship_order(placement.order_id, after_commit=crash_after(transition))
    assert ended(apps, account) == (OrderStatus.SHIPPED, SHIPPED, PAID)


def test_a_crash_inside_the_capture_in_the_ledger_store_is_recovered(apps: Container) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    placement = place(orders, PaymentMethod.HOLD, account)
    orders.payments = LedgerCrashing(ledger, "capture_hold")
    with pytest.raises(SimulatedCrash):
        orders.ship_order(placement.order_id)
    orders.payments = ledger
    assert ended(apps, account) == (OrderStatus.SHIPPED, SHIPPED, PAID)


EXPIRED_SHIPPING = [
    "succeeded:request_shipment",
    "failed:capture_payment",
    "compensated:request_shipment",
]


@pytest.mark.parametrize("transition", EXPIRED_SHIPPING)
def test_a_crash_after_each_step_of_a_shipment_whose_hold_expired_is_recovered(
    apps: Container, transition: str
) -> None:
    orders, ledger = shop(apps)
    orders.payment_hold_seconds = 0  # the hold is due the moment it is placed
    account = funded(ledger, 10_000)
    placement = place(orders, PaymentMethod.HOLD, account)
    with pytest.raises(SimulatedCrash):
        orders.ship_order(placement.order_id, after_commit=crash_after(transition))
    assert ended(apps, account) == (OrderStatus.CANCELLED, RELEASED, UNTOUCHED)
    assert the_order(orders).cancel_reason == "payment_expired"
