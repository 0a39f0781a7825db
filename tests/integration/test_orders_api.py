"""Orders over HTTP: the catalogue, placing (the total held on the paying account), each refusal
with exact stock and money after it, shipping (the hold captured) and cancelling (the hold
voided: nothing moves), privacy, idempotency, and the projection-backed reads."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from rest_framework.test import APIClient

from config.container import Container
from messaging.runtime import relay_events, run_subscribers
from tests.integration.conftest import Bus
from tests.integration.test_ledger_api import assert_error, balance, deposit, open_account

pytestmark = pytest.mark.django_db(transaction=True)
ORDER_PROJECTIONS = ["projection:orders", "projection:products", "projection:transactions"]


def project(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers(ORDER_PROJECTIONS, bus.url, once=True))


def statement(client: APIClient, account: str) -> list[tuple[str, str, str, str]]:
    """The account's transactions, oldest first: (kind, phase, direction, amount)."""
    entries = client.get(f"/api/accounts/{account}/transactions/").json()["results"]
    return [(e["kind"], e["phase"], e["direction"], e["amount"]) for e in reversed(entries)]


@pytest.fixture
def alice(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


@pytest.fixture
def bob(make_user, client_for) -> APIClient:
    return client_for(make_user("bob"))


@pytest.fixture
def shop(container: Container, staff_client: APIClient) -> None:
    for sku, name, price, stock in [("APPLE", "apple", "1.50", 5), ("BREAD", "bread", "3.00", 1)]:
        response = staff_client.post(
            "/api/products/", {"sku": sku, "name": name, "price": price, "stock": stock},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.json()


@pytest.fixture
def wallet(alice: APIClient, staff_client: APIClient) -> str:
    """Alice's account with 100.00 in it."""
    account = open_account(alice)["id"]
    deposit(staff_client, account, "100.00")
    return account


def place(client: APIClient, account: str, *items: tuple[str, int], key: str | None = None) -> Any:
    body = {"account": account, "items": [{"sku": s, "quantity": q} for s, q in items]}
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/orders/", body, format="json", headers=headers)


def stock(container: Container) -> dict[str, tuple[int, int]]:
    """(on hand, reserved) per SKU, from the aggregates."""
    return {
        sku: (p.on_hand, p.reserved)
        for sku, p in ((s, container.orders.get_product(s)) for s in ("APPLE", "BREAD"))
    }


def merchant_balance(container: Container) -> int:
    return container.ledger.merchant_account("EUR").balance


def held(container: Container, account: str) -> tuple[int, int]:
    """What holds set aside: on the account, and for the merchant."""
    merchant = container.ledger.merchant_account("EUR")
    return container.ledger.get_account(UUID(account)).held, merchant.incoming


def test_an_order_is_placed_confirmed_with_its_total_held_and_read_back(
    container: Container, bus: Bus, shop: None, alice: APIClient, wallet: str
) -> None:
    response = place(alice, wallet, ("APPLE", 2), ("BREAD", 1))
    assert response.status_code == 201, response.json()
    order = response.json()
    assert (order["status"], order["total"], order["account"]) == ("confirmed", "6.00", wallet)
    assert order["items"] == [
        {"sku": "APPLE", "quantity": 2, "price": "1.50"},
        {"sku": "BREAD", "quantity": 1, "price": "3.00"},
    ]
    # Held, not taken: the balance is unchanged, 6.00 of it is no longer available.
    assert balance(alice, wallet) == "100.00" and merchant_balance(container) == 0
    assert held(container, wallet) == (600, 600)
    assert container.ledger.get_account(UUID(wallet)).available == 94_00
    assert stock(container) == {"APPLE": (5, 2), "BREAD": (1, 1)}

    project(container, bus)
    position = order["position"]
    detail = alice.get(f"/api/orders/{order['id']}/?min_position={position}").json()
    assert {k: detail[k] for k in ("id", "status", "account", "total", "items")} == {
        k: order[k] for k in ("id", "status", "account", "total", "items")
    }
    assert set(detail) == {
        "id", "status", "account", "total", "currency", "items", "created_at", "updated_at",
    }  # fmt: skip
    listed = alice.get(f"/api/orders/?min_position={position}").json()
    assert [o["id"] for o in listed["results"]] == [order["id"]]
    products = {p["sku"]: p for p in alice.get("/api/products/").json()["results"]}
    assert (products["APPLE"]["available"], products["BREAD"]["available"]) == (3, 0)
    assert products["APPLE"]["price"] == "1.50"
    assert statement(alice, wallet) == [
        ("deposit", "posted", "credit", "100.00"),
        ("hold", "pending", "debit", "6.00"),
    ]


def test_the_history_puts_the_projection_beside_the_event_store(
    container: Container, bus: Bus, shop: None, alice: APIClient, wallet: str
) -> None:
    order_id = place(alice, wallet, ("APPLE", 1)).json()["id"]
    project(container, bus)
    cancelled = alice.post(f"/api/orders/{order_id}/cancel/")
    assert cancelled.status_code == 200, cancelled.json()
    history = alice.get(f"/api/orders/{order_id}/history/").json()
    # The projection has not been run since the cancellation; the event store has it all.
    assert history["status"] == "confirmed"
    assert [h["status"] for h in history["status_history"]] == [
        "pending", "confirmed", "cancelling", "cancelled",
    ]  # fmt: skip
    types = [e["type"] for e in history["events"]]
    for name in ("order.created", "payment.authorized", "order.confirmed", "payment.voided",
                 "order.cancelled"):  # fmt: skip
        assert name in types
    assert "payment.processed" not in types and "payment.refunded" not in types
    created = next(e for e in history["events"] if e["type"] == "order.created")
    assert created["data"]["total"] == "1.50" and created["source"] == "orders"
    # Each event, the sagas' among them, with its position in the orders log.
    logged = {
        (str(n.originator_id), n.originator_version): n.id
        for n in container.orders.notifications_after(0, 10_000)
    }
    assert [e["position"] for e in history["events"]] == [
        logged[(e["aggregate_id"], e["aggregate_version"])] for e in history["events"]
    ]
    project(container, bus)
    assert alice.get(f"/api/orders/{order_id}/history/").json()["status"] == "cancelled"


def test_out_of_stock_on_the_second_item_cancels_and_holds_nothing(
    container: Container, shop: None, alice: APIClient, wallet: str
) -> None:
    body = assert_error(place(alice, wallet, ("APPLE", 2), ("BREAD", 2)), 409, "out_of_stock")
    order = container.orders.get_order(UUID(body["details"]["order_id"]))
    assert str(order.status) == "cancelled"
    assert stock(container) == {"APPLE": (5, 0), "BREAD": (1, 0)}
    assert balance(alice, wallet) == "100.00" and merchant_balance(container) == 0
    assert held(container, wallet) == (0, 0)


@pytest.mark.parametrize(
    ("setup", "code"),
    [("poor", "insufficient_funds"), ("frozen", "account_frozen"),
     ("merchant_closed", "merchant_unavailable")],
)  # fmt: skip
def test_a_refused_payment_cancels_and_leaves_stock_and_money_exact(
    container: Container, shop: None, alice: APIClient, staff_client: APIClient, setup: str,
    code: str,
) -> None:  # fmt: skip
    account = open_account(alice)["id"]
    deposit(staff_client, account, "1.00" if setup == "poor" else "100.00")
    if setup == "frozen":
        container.ledger.freeze_account(UUID(account), "review")
    if setup == "merchant_closed":
        container.ledger.close_account(container.ledger.merchant_account("EUR").id)
    body = assert_error(place(alice, account, ("APPLE", 2), ("BREAD", 1)), 409, code)
    order = container.orders.get_order(UUID(body["details"]["order_id"]))
    assert (str(order.status), order.cancel_reason) == ("cancelled", code)
    assert stock(container) == {"APPLE": (5, 0), "BREAD": (1, 0)}
    assert container.ledger.get_account(UUID(account)).balance == (
        100 if setup == "poor" else 10_000
    )
    assert merchant_balance(container) == 0 and held(container, account) == (0, 0)


def test_bad_orders_are_400_and_change_nothing(
    container: Container, shop: None, alice: APIClient, bob: APIClient, wallet: str
) -> None:
    before = container.orders.max_position()
    assert_error(place(alice, wallet), 400, "invalid")
    assert_error(place(alice, wallet, ("APPLE", 0)), 400, "invalid")
    assert_error(place(alice, wallet, ("NOPE", 1)), 404, "not_found")  # as an unknown account
    assert_error(place(alice, wallet, ("APPLE", 1), ("APPLE", 1)), 400, "invalid")
    assert_error(alice.post("/api/orders/", {"account": wallet, "items": [{"sku": "APPLE"}]},
                            format="json"), 400, "invalid")  # fmt: skip
    assert_error(place(bob, wallet, ("APPLE", 1)), 404, "not_found")  # not bob's money
    assert container.orders.max_position() == before


def test_ship_and_cancel(
    container: Container, shop: None, alice: APIClient, staff_client: APIClient, wallet: str
) -> None:
    shipped = place(alice, wallet, ("APPLE", 2)).json()["id"]
    assert_error(alice.post(f"/api/orders/{shipped}/ship/"), 403, "permission_denied")
    response = staff_client.post(f"/api/orders/{shipped}/ship/")
    assert response.status_code == 200 and response.json()["status"] == "shipped"
    assert_error(staff_client.post(f"/api/orders/{shipped}/ship/"), 409, "invalid_state")
    assert_error(alice.post(f"/api/orders/{shipped}/cancel/"), 409, "invalid_state")

    kept = place(alice, wallet, ("BREAD", 1)).json()["id"]
    response = alice.post(f"/api/orders/{kept}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert alice.post(f"/api/orders/{kept}/cancel/").status_code == 200  # again: still cancelled
    assert_error(staff_client.post(f"/api/orders/{kept}/ship/"), 409, "invalid_state")
    assert stock(container) == {"APPLE": (3, 0), "BREAD": (1, 0)}
    assert balance(alice, wallet) == "97.00" and merchant_balance(container) == 300
    assert held(container, wallet) == (0, 0)


def test_shipping_captures_the_held_total(
    container: Container, bus: Bus, shop: None, alice: APIClient, staff_client: APIClient,
    wallet: str,
) -> None:  # fmt: skip
    order = place(alice, wallet, ("APPLE", 2), ("BREAD", 1)).json()["id"]
    response = staff_client.post(f"/api/orders/{order}/ship/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "shipped"
    assert balance(alice, wallet) == "94.00" and merchant_balance(container) == 600
    assert held(container, wallet) == (0, 0)
    assert stock(container) == {"APPLE": (3, 0), "BREAD": (0, 0)}
    project(container, bus)
    assert statement(alice, wallet) == [
        ("deposit", "posted", "credit", "100.00"),
        ("hold", "pending", "debit", "6.00"),
        ("hold", "released", "debit", "6.00"),
        ("hold", "posted", "debit", "6.00"),  # captured: now it moved
    ]
    types = [e["type"] for e in alice.get(f"/api/orders/{order}/history/").json()["events"]]
    assert {"payment.authorized", "order.shipment_requested", "payment.captured",
            "order.shipped"} <= set(types)  # fmt: skip


def test_cancelling_before_shipping_moves_no_money(
    container: Container, bus: Bus, shop: None, alice: APIClient, wallet: str
) -> None:
    order = place(alice, wallet, ("APPLE", 2), ("BREAD", 1)).json()["id"]
    response = alice.post(f"/api/orders/{order}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert balance(alice, wallet) == "100.00" and merchant_balance(container) == 0
    assert held(container, wallet) == (0, 0)
    project(container, bus)
    assert statement(alice, wallet) == [  # a pending entry and its release; nothing posted
        ("deposit", "posted", "credit", "100.00"),
        ("hold", "pending", "debit", "6.00"),
        ("hold", "released", "debit", "6.00"),
    ]
    entries = alice.get(f"/api/accounts/{wallet}/transactions/").json()["results"]
    assert {e["balance_after"] for e in entries} == {"100.00"}


def test_shipping_an_order_whose_hold_expired_is_refused_and_cancels_it(
    container: Container, shop: None, alice: APIClient, staff_client: APIClient, wallet: str
) -> None:
    container.orders.payment_hold_seconds = 0  # the hold is due the moment it is placed
    order = place(alice, wallet, ("APPLE", 2)).json()["id"]
    assert_error(staff_client.post(f"/api/orders/{order}/ship/"), 409, "payment_expired")
    assert str(container.orders.get_order(UUID(order)).status) == "cancelled"
    assert stock(container) == {"APPLE": (5, 0), "BREAD": (1, 0)}
    assert balance(alice, wallet) == "100.00" and merchant_balance(container) == 0
    assert held(container, wallet) == (0, 0)
    assert_error(staff_client.post(f"/api/orders/{order}/ship/"), 409, "invalid_state")
    assert alice.post(f"/api/orders/{order}/cancel/").json()["status"] == "cancelled"


def test_another_customers_order_is_not_found(
    container: Container, bus: Bus, shop: None, alice: APIClient, bob: APIClient, wallet: str
) -> None:
    order_id = place(alice, wallet, ("APPLE", 1)).json()["id"]
    project(container, bus)
    for path in (f"/api/orders/{order_id}/", f"/api/orders/{order_id}/history/"):
        assert_error(bob.get(path), 404, "not_found")
    assert_error(bob.post(f"/api/orders/{order_id}/cancel/"), 404, "not_found")
    assert bob.get("/api/orders/").json()["results"] == []
    assert container.orders.get_order(UUID(order_id)).status == "confirmed"


def test_the_same_idempotency_key_places_one_order(
    container: Container, shop: None, alice: APIClient, wallet: str
) -> None:
    first = place(alice, wallet, ("APPLE", 1), key="order-1")
    again = place(alice, wallet, ("APPLE", 1), key="order-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert stock(container)["APPLE"] == (5, 1) and balance(alice, wallet) == "100.00"
    assert held(container, wallet) == (150, 150)
    refused = place(alice, wallet, ("BREAD", 5), key="order-2")
    assert place(alice, wallet, ("BREAD", 5), key="order-2").json() == (refused.json())
    assert_error(place(alice, wallet, ("APPLE", 2), key="order-1"), 422,
                 "idempotency_conflict")  # fmt: skip


def test_the_catalogue_is_staff_written_and_stock_is_added_once_per_key(
    container: Container, bus: Bus, shop: None, alice: APIClient, staff_client: APIClient
) -> None:
    new = {"sku": "PEAR", "name": "pear", "price": "0.80", "stock": 0}
    assert_error(alice.post("/api/products/", new, format="json"), 403, "permission_denied")
    assert_error(alice.post("/api/products/APPLE/stock/", {"quantity": 1}, format="json"), 403,
                 "permission_denied")  # fmt: skip
    assert_error(staff_client.post("/api/products/", {**new, "price": "-1"}, format="json"), 400,
                 "invalid")  # fmt: skip
    changed = {"sku": "APPLE", "name": "green apple", "price": "1.50", "stock": 5}
    assert_error(staff_client.post("/api/products/", changed, format="json"), 409,
                 "already_exists")  # fmt: skip
    assert_error(staff_client.post("/api/products/NOPE/stock/", {"quantity": 1}, format="json"),
                 404, "not_found")  # fmt: skip
    for _ in range(2):
        response = staff_client.post("/api/products/APPLE/stock/", {"quantity": 10},
                                     format="json", HTTP_IDEMPOTENCY_KEY="delivery-7")  # fmt: skip
        assert response.status_code == 201 and response.json()["on_hand"] == 15
    position = response.json()["position"]
    project(container, bus)
    products = alice.get(f"/api/products/?min_position={position}").json()["results"]
    assert [(p["sku"], p["on_hand"], p["available"]) for p in products] == [
        ("APPLE", 15, 15), ("BREAD", 1, 1),
    ]  # fmt: skip


def test_order_list_filters(
    container: Container, bus: Bus, shop: None, alice: APIClient, staff_client: APIClient,
    wallet: str,
) -> None:  # fmt: skip
    confirmed = place(alice, wallet, ("APPLE", 1)).json()["id"]
    cancelled = place(alice, wallet, ("BREAD", 9)).json()["details"]["order_id"]
    project(container, bus)
    by_status = alice.get("/api/orders/?status=cancelled").json()["results"]
    assert [o["id"] for o in by_status] == [cancelled]
    newest_first = [o["id"] for o in alice.get("/api/orders/").json()["results"]]
    assert newest_first == [cancelled, confirmed]
    assert [o["id"] for o in alice.get("/api/orders/?ordering=-total").json()["results"]] == [
        cancelled, confirmed,
    ]  # fmt: skip
    later = alice.get("/api/orders/", {"since": "2999-01-01T00:00:00Z"}).json()["results"]
    assert later == []
    assert len(staff_client.get("/api/orders/?owner=alice").json()["results"]) == 2
    assert_error(alice.get("/api/orders/?status=lost"), 400, "invalid")


def test_an_order_staff_place_on_a_customers_account_is_the_customers(
    container: Container,
    shop: None,
    alice: APIClient,
    staff_client: APIClient,
    wallet: str,
    bus: Bus,
) -> None:
    """Staff may pay from any account, and the order is then the account owner's: the customer
    sees it in its list and history, and may cancel it (and is refunded)."""
    placed = place(staff_client, wallet, ("APPLE", 2))
    assert placed.status_code == 201, placed.json()
    order = placed.json()["id"]
    assert alice.get(f"/api/orders/{order}/history/").status_code in (200, 503)  # it exists
    project(container, bus)
    assert [o["id"] for o in alice.get("/api/orders/").json()["results"]] == [order]
    assert alice.get(f"/api/orders/{order}/").json()["account"] == wallet
    cancelled = alice.post(f"/api/orders/{order}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert balance(alice, wallet) == "100.00"
    assert container.orders.get_order(UUID(order)).customer == "alice"
