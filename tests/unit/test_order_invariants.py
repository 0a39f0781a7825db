"""Property: whatever customers order, cancel and get shipped, and however long they wait —
refusals and expired holds included — stock never goes below zero, every unit is on a shelf,
held for a live order, or shipped, and every cent is its customer's: set aside for a confirmed
order whose hold is live, or the merchant's once the order shipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import LedgerApplication
from ledger.holds import HoldStatus
from orders.application import OrdersApplication
from orders.domain import OrdersError, OrderStatus
from tests.support import check_books, payment_hold
from tests.unit.conftest import IN_MEMORY

SKUS = ("A", "B")
PRICES = {"A": 150, "B": 400}
START_STOCK, START_MONEY, CUSTOMERS = 3, 2_000, 3
STANDING = (OrderStatus.CONFIRMED, OrderStatus.SHIPPED)  # orders that hold stock or shipped it

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.integers(0, CUSTOMERS - 1),
            st.dictionaries(st.sampled_from(SKUS), st.integers(1, 3), min_size=1),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("ship"), st.integers(0, 20)),
        st.tuples(st.just("restock"), st.sampled_from(SKUS), st.integers(1, 2)),
        st.tuples(st.just("a week passes")),  # every hold placed so far expires
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(steps=actions)
def test_stock_and_money_are_exact_after_any_orders_and_cancellations(steps: list) -> None:
    ledger = LedgerApplication(env=IN_MEMORY)
    orders = OrdersApplication(env=IN_MEMORY)
    orders.payments = ledger
    for sku in SKUS:
        orders.create_product(sku, sku.lower(), PRICES[sku], START_STOCK)
    wallets = [ledger.open_account(f"c{i}", "EUR").id for i in range(CUSTOMERS)]
    for wallet in wallets:
        ledger.deposit(wallet, START_MONEY, f"start-{wallet}")
    placed, restocked = [], dict.fromkeys(SKUS, 0)

    for step, (kind, *args) in enumerate(steps):
        try:
            if kind == "order":
                customer, lines = args
                placement = orders.place_order(f"c{customer}", wallets[customer],
                                               sorted(lines.items()))  # fmt: skip
                assert placement.is_finished
                placed.append(placement.order_id)
            elif kind == "cancel" and placed:
                orders.cancel_order(placed[args[0] % len(placed)])
            elif kind == "ship" and placed:
                orders.ship_order(placed[args[0] % len(placed)])
            elif kind == "restock":
                orders.add_stock(args[0], args[1], f"restock-{step}")
                restocked[args[0]] += args[1]
            elif kind == "a week passes":
                ledger.expire_holds(now=datetime.now(UTC) + timedelta(days=8))
        except OrdersError:
            pass  # refused (an expired payment cancels its order): the totals below check it

        everything = [orders.get_order(o) for o in placed]
        standing = [o for o in everything if o.status in STANDING]
        assert all(o.status in (*STANDING, OrderStatus.CANCELLED) for o in everything)
        for sku in SKUS:
            product = orders.get_product(sku)
            held = sum(i["quantity"] for o in standing if o.status == OrderStatus.CONFIRMED
                       for i in o.items if i["sku"] == sku)  # fmt: skip
            shipped = sum(i["quantity"] for o in standing if o.status == OrderStatus.SHIPPED
                          for i in o.items if i["sku"] == sku)  # fmt: skip
            assert product.available >= 0
            assert product.reserved == held
            assert product.on_hand == START_STOCK + restocked[sku] - shipped
        merchant = ledger.merchant_account("EUR")
        confirmed = [o for o in standing if o.status == OrderStatus.CONFIRMED]
        live = [
            o for o in confirmed if payment_hold(ledger, o.payment_id).status == HoldStatus.PENDING
        ]
        assert merchant.balance == sum(o.total for o in standing if o.status == OrderStatus.SHIPPED)
        assert merchant.incoming == sum(o.total for o in live)
        assert sum(ledger.get_account(w).held for w in wallets) == merchant.incoming
        assert sum(ledger.get_account(w).balance for w in wallets) + merchant.balance == (
            CUSTOMERS * START_MONEY
        )
        check_books(ledger)
