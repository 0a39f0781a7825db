"""Many customers race for the last items: never oversold, every order confirmed or cancelled,
and exactly what the confirmed orders cost held for the merchant."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from config.container import Container
from orders.domain import OrderStatus
from sagas.engine import SagaStatus
from tests.support import check_books, funded, released_together

CUSTOMERS, LAST_ITEMS = 10, 4


def test_customers_racing_for_the_last_items_never_oversell(container: Container) -> None:
    orders, ledger = container.orders, container.ledger
    orders.create_product("LAST", "the last of them", 250, LAST_ITEMS)
    orders.create_product("PLENTY", "plenty of these", 100, 1_000)
    wallets = [funded(ledger, 1_000, owner=f"c{i}") for i in range(CUSTOMERS)]

    def customer(i: int) -> str:
        placement = orders.place_order(f"c{i}", wallets[i], [("PLENTY", 1), ("LAST", 1)])
        return str(placement.status)

    placed, errors = released_together(CUSTOMERS, customer, timeout=240)
    assert errors == []
    outcomes = Counter(placed)
    assert outcomes == {
        SagaStatus.COMPLETED: LAST_ITEMS,
        SagaStatus.COMPENSATED: CUSTOMERS - LAST_ITEMS,
    }
    last, plenty = orders.get_product("LAST"), orders.get_product("PLENTY")
    assert (last.on_hand, last.reserved, last.available) == (LAST_ITEMS, LAST_ITEMS, 0)
    assert (plenty.reserved, plenty.available) == (LAST_ITEMS, 1_000 - LAST_ITEMS)
    statuses = Counter(
        str(orders.get_order(UUID(str(n.originator_id))).status)
        for n in orders.notifications_after(0, 10_000)
        if n.topic.endswith("Order.Created")
    )
    assert statuses == {
        OrderStatus.CONFIRMED: LAST_ITEMS,
        OrderStatus.CANCELLED: CUSTOMERS - LAST_ITEMS,
    }
    held = sorted((a.balance, a.held) for a in map(ledger.get_account, wallets))
    assert held == [(1_000, 0)] * (CUSTOMERS - LAST_ITEMS) + [(1_000, 350)] * LAST_ITEMS
    merchant = ledger.merchant_account("EUR")
    assert (merchant.balance, merchant.incoming) == (0, 350 * LAST_ITEMS)
    check_books(ledger)
    assert orders.unfinished_sagas() == [] and ledger.unfinished_transfers() == []
