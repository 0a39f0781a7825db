"""Order sagas interrupted at every step boundary, across the orders and ledger stores, end
exactly right: each order confirmed or cancelled, every unit of stock and every cent in place.

Two kinds of crash. One after each transition the orders store commits (raised from the
runner's after-commit hook). One inside the payment, after each transition the *ledger's* store
commits — the last of them, "completed", is the crash between the two stores: the money has
moved and the orders store has not heard. Recovery (``recover_sagas``) must finish or
compensate every saga. The same proof runs with the two stores in two PostgreSQL databases.
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
from orders.domain import OrderStatus
from orders.saga import Ordering, PlaceOrder, TransferOutcome
from sagas.engine import Saga, SagaRunner, SagaStatus
from tests.conftest import CONTEXTS, admin_connection, database_url, postgres_server_url
from tests.support import balances, funded


class SimulatedCrash(Exception):
    """Raised right after a commit: the process 'dies' before it can take another step."""


def crash_after(transition: str) -> Any:
    def hook(saga: Saga, done: str) -> None:
        if done == transition:
            raise SimulatedCrash(transition)

    return hook


class LedgerCrashingAfter:
    """The ledger's application API, with the payment transfer crashing after ``transition``."""

    def __init__(self, ledger: LedgerApplication, transition: str) -> None:
        self.ledger, self.transition = ledger, transition

    def merchant_account(self, currency: str) -> Any:
        return self.ledger.merchant_account(currency)

    def owner_of(self, account_id: UUID) -> str:
        return self.ledger.owner_of(account_id)

    def find_transfer(self, transfer_id: UUID) -> TransferOutcome | None:
        return self.ledger.find_transfer(transfer_id)

    def transfer_funds(self, *args: Any, **kwargs: Any) -> TransferOutcome:
        return self.ledger.transfer_funds(
            *args, after_commit=crash_after(self.transition), **kwargs
        )


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


def stock(orders: OrdersApplication) -> list[tuple[int, int]]:
    return [(p.on_hand, p.reserved) for p in map(orders.get_product, ("APPLE", "BREAD"))]


def money(ledger: LedgerApplication, account: UUID) -> list[int]:
    return balances(ledger, account, ledger.merchant_account("EUR").id)


def recover_everything(apps: Container) -> None:
    recover(apps, 0.0)
    assert recover(apps, 0.0) == []
    assert apps.orders.unfinished_sagas() == [] and apps.ledger.unfinished_transfers() == []


def the_order(orders: OrdersApplication) -> Any:
    (order_id,) = {
        n.originator_id for n in orders.notifications_after(0, 1000) if "Order.Created" in n.topic
    }
    return orders.get_order(UUID(str(order_id)))


# The transitions each saga commits, in order (a start commits with its first step, an end
# with its last step or compensation); a crash after any of them must be recoverable.
CONFIRMING = [
    "succeeded:create_order",
    "succeeded:reserve_stock",
    "succeeded:take_payment",
    "succeeded:confirm_order",
]
PAYMENT = ["succeeded:debit_source", "succeeded:credit_destination"]


@pytest.mark.parametrize("transition", CONFIRMING)
def test_a_crash_after_each_step_of_a_confirming_order_is_recovered(
    apps: Container, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)],
                           after_commit=crash_after(transition))  # fmt: skip
    recover_everything(apps)
    assert the_order(orders).status == OrderStatus.CONFIRMED
    assert stock(orders) == [(5, 2), (1, 1)]
    assert money(ledger, account) == [9_400, 600]


@pytest.mark.parametrize("transition", PAYMENT)
def test_a_crash_inside_the_payment_in_the_ledger_store_is_recovered(
    apps: Container, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    orders.payments = LedgerCrashingAfter(ledger, transition)
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    orders.payments = ledger
    recover_everything(apps)
    assert the_order(orders).status == OrderStatus.CONFIRMED
    assert stock(orders) == [(5, 2), (1, 1)]
    assert money(ledger, account) == [9_400, 600]


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
    account = funded(ledger, 100 if refusal == "insufficient_funds" else 10_000)
    if refusal == "merchant_closed":
        ledger.close_account(ledger.merchant_account("EUR").id)
    quantity = 2 if refusal == "out_of_stock" else 1
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 2), ("BREAD", quantity)],
                           after_commit=crash_after(transition))  # fmt: skip
    recover_everything(apps)
    assert the_order(orders).status == OrderStatus.CANCELLED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert money(ledger, account) == [100 if refusal == "insufficient_funds" else 10_000, 0]


@pytest.mark.parametrize("transition", PAYMENT)
def test_a_payment_crashed_in_the_ledger_and_then_out_of_time_is_refunded_exactly_once(
    apps: Container, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    orders.payments = LedgerCrashingAfter(ledger, transition)
    with pytest.raises(SimulatedCrash):
        orders.place_order("alice", account, [("APPLE", 2)])
    orders.payments = ledger
    (saga,) = orders.unfinished_sagas()
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    runner = SagaRunner(orders, PlaceOrder, Ordering(orders, ledger), clock=late)
    assert runner.run(saga.id).status == SagaStatus.COMPENSATED
    recover_everything(apps)
    assert the_order(orders).status == OrderStatus.CANCELLED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert money(ledger, account) == [10_000, 0]


CANCELLING = [
    "succeeded:request_cancellation",
    "succeeded:refund_payment",
    "succeeded:release_stock",
    "succeeded:cancel_order",
]


@pytest.mark.parametrize("transition", CANCELLING)
def test_a_crash_after_each_step_of_a_cancellation_is_recovered(
    apps: Container, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    with pytest.raises(SimulatedCrash):
        orders.cancel_order(placement.order_id, after_commit=crash_after(transition))
    recover_everything(apps)
    assert the_order(orders).status == OrderStatus.CANCELLED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert money(ledger, account) == [10_000, 0]


@pytest.mark.parametrize("transition", PAYMENT)
def test_a_crash_inside_the_refund_in_the_ledger_store_is_recovered(
    apps: Container, transition: str
) -> None:
    orders, ledger = shop(apps)
    account = funded(ledger, 10_000)
    placement = orders.place_order("alice", account, [("APPLE", 2), ("BREAD", 1)])
    orders.payments = LedgerCrashingAfter(ledger, transition)
    with pytest.raises(SimulatedCrash):
        orders.cancel_order(placement.order_id)
    orders.payments = ledger
    recover_everything(apps)
    assert the_order(orders).status == OrderStatus.CANCELLED
    assert stock(orders) == [(5, 0), (1, 0)]
    assert money(ledger, account) == [10_000, 0]
