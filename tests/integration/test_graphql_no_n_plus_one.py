"""A list of orders with their histories costs the same reads for 50 orders as for one: the
page is one query of the orders projection (and one count), and every order's ``statusHistory``
and ``allEvents`` — its own events and its sagas', with their positions — one read of the
orders event store, through a data loader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.container import Container
from kernel.application import EventSourcedApplication
from tests.support import funded, graphql, project_everything

pytestmark = pytest.mark.django_db

ORDERS = """query($limit: Int!) { orders(limit: $limit) { totalCount results {
  id status total statusHistory { status at } allEvents } } }"""


@contextmanager
def store_reads(app: EventSourcedApplication) -> Iterator[list[str]]:
    """Every connection the application's event store hands out meanwhile: each read of the
    store, on SQLite and PostgreSQL alike, takes one (``datastore.get_connection``)."""
    datastore: Any = app.recorder.datastore  # type: ignore[attr-defined]
    taken: list[str] = []
    original = datastore.get_connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        taken.append(app.name)
        return original(*args, **kwargs)

    datastore.get_connection = counted
    try:
        yield taken
    finally:
        del datastore.get_connection


def read_orders(client: Any, container: Container, limit: int) -> tuple[Any, int, int]:
    """The answer, the Django queries and the orders store reads it took."""
    with CaptureQueriesContext(connection) as django, store_reads(container.orders) as reads:
        response = graphql(client, ORDERS, {"limit": limit})
    assert response.status_code == 200
    return response.json(), len(django.captured_queries), len(reads)


def test_fifty_orders_with_their_histories_cost_what_one_does(
    container: Container, make_user: Any, client_for: Any
) -> None:
    alice = make_user("alice")
    account = funded(container.ledger, 1_000_000, owner="alice")
    container.orders.create_product("MUG", "Mug", 1_250, 100)
    placed = [container.orders.place_order("alice", account, [("MUG", 1)]) for _ in range(50)]
    container.orders.cancel_order(placed[0].order_id)  # a history with a second saga
    project_everything(container)
    client = client_for(alice)

    one, queries_for_one, reads_for_one = read_orders(client, container, limit=1)
    fifty, queries_for_fifty, reads_for_fifty = read_orders(client, container, limit=50)

    orders = fifty["data"]["orders"]["results"]
    assert len(orders) == 50 and "errors" not in fifty and "errors" not in one
    assert all(len(order["allEvents"]) >= 9 for order in orders)  # order and placement events
    assert all(
        event["aggregate_id"] != order["id"] or event["position"] is not None
        for order in orders
        for event in order["allEvents"]
    )
    cancelled = next(o for o in orders if o["id"] == str(placed[0].order_id))
    assert [s["status"] for s in cancelled["statusHistory"]][-1] == "cancelled"
    assert {e["type"] for e in cancelled["allEvents"]} >= {
        "order_cancellation.completed", "payment.voided",
    }  # fmt: skip

    assert reads_for_fifty == reads_for_one == 1, "one read of the store for every history"
    assert queries_for_fifty == queries_for_one, "no query per order"
    assert queries_for_fifty <= 3  # the token's user, the page, its count
