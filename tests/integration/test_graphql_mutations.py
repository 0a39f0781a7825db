"""GraphQL's mutations run the REST API's use cases, with its idempotency, its write throttle,
its authentication and CSRF rule, and its error codes: a refusal moves nothing, a retry with the
same ``Idempotency-Key`` gets the first answer and moves nothing more."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.container import Container
from tests.support import balances, funded, graphql, posted_and_held

pytestmark = pytest.mark.django_db

TRANSFER = """mutation($input: TransferFundsInput!) { transferFunds(input: $input) {
  position transfer { id status amount steps { name status } } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  position cancelReason order { id status total items { sku quantity } } } }"""
CANCEL = "mutation($id: UUID!) { cancelOrder(id: $id) { cancelReason order { status } } }"


@pytest.fixture
def accounts(container: Container, make_user: Any) -> dict[str, UUID]:
    make_user("alice")
    make_user("bob")
    container.orders.create_product("MUG", "Mug", 1_250, 5)
    container.orders.create_product("GOLD", "Gold bar", 50_000, 1)
    return {
        "alice": funded(container.ledger, 10_000, owner="alice"),
        "savings": funded(container.ledger, 0, owner="alice"),
        "bob": funded(container.ledger, 10_000, owner="bob"),
    }


@pytest.fixture
def alice(client_for: Any, accounts: Any) -> APIClient:
    from django.contrib.auth import get_user_model

    return client_for(get_user_model().objects.get(username="alice"))


@pytest.fixture
def bob(client_for: Any, accounts: Any) -> APIClient:
    from django.contrib.auth import get_user_model

    return client_for(get_user_model().objects.get(username="bob"))


def transfer(client: APIClient, source: UUID, target: UUID, amount: str, **headers: Any) -> Any:
    variables = {"input": {"fromAccount": str(source), "toAccount": str(target), "amount": amount}}
    response = graphql(client, TRANSFER, variables, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def error(answer: dict[str, Any]) -> dict[str, Any]:
    (only,) = answer["errors"]
    assert list(answer["data"].values()) == [None]
    return {"code": only["extensions"]["code"], **only["extensions"]["details"]}


def positions(container: Container) -> dict[str, int]:
    return {name: app.max_position() for name, app in container.applications.items()}


def test_transfer_funds_runs_the_saga_and_answers_its_position(
    alice: APIClient, accounts: Any, container: Container
) -> None:
    answer = transfer(alice, accounts["alice"], accounts["savings"], "12.50")
    moved = answer["data"]["transferFunds"]
    assert moved["transfer"]["status"] == "completed" and moved["transfer"]["amount"] == "12.50"
    assert [s["name"] for s in moved["transfer"]["steps"]] == ["debit_source", "credit_destination"]
    assert moved["position"] == container.ledger.max_position()
    assert balances(container.ledger, accounts["alice"], accounts["savings"]) == [8_750, 1_250]


@pytest.mark.parametrize(
    ("amount", "target", "code"),
    [
        ("100.01", "savings", "insufficient_funds"),
        ("1.00", "alice", "same_account"),
        ("-1.00", "savings", "invalid"),
        ("1.001", "savings", "invalid"),
        ("1E+999997", "savings", "invalid"),
    ],
)
def test_a_refused_transfer_has_the_rest_code_and_moves_nothing(
    alice: APIClient, accounts: Any, container: Container, amount: str, target: str, code: str
) -> None:
    before = balances(container.ledger, accounts["alice"], accounts["savings"])
    refused = error(transfer(alice, accounts["alice"], accounts[target], amount))
    assert refused["code"] == code
    assert balances(container.ledger, accounts["alice"], accounts["savings"]) == before
    if code == "insufficient_funds":  # the saga ran and failed: its id is given, as in REST
        assert container.ledger.get_transfer(UUID(refused["transfer_id"])).status == "failed"


def test_moving_anothers_money_is_not_found_and_moves_nothing(
    bob: APIClient, accounts: Any, container: Container
) -> None:
    before = positions(container)
    assert error(transfer(bob, accounts["alice"], accounts["bob"], "1.00"))["code"] == "not_found"
    assert positions(container) == before


def test_the_same_key_and_input_answer_the_first_answer_and_move_nothing_more(
    alice: APIClient, accounts: Any, container: Container
) -> None:
    key = {"HTTP_IDEMPOTENCY_KEY": "rent-2026-12"}
    first = transfer(alice, accounts["alice"], accounts["savings"], "10.00", **key)
    after_first = positions(container)
    again = transfer(alice, accounts["alice"], accounts["savings"], "10.00", **key)
    assert again == first
    assert positions(container) == after_first
    assert balances(container.ledger, accounts["alice"], accounts["savings"]) == [9_000, 1_000]
    other = transfer(alice, accounts["alice"], accounts["savings"], "11.00", **key)
    assert error(other)["code"] == "idempotency_conflict"
    body = {"from_account": str(accounts["alice"]), "to_account": str(accounts["savings"])}
    rest = alice.post(
        "/api/transfers/",
        {**body, "amount": "10.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key["HTTP_IDEMPOTENCY_KEY"],
    )
    assert rest.status_code == 422  # one key names one request, whichever API it came to
    assert positions(container) == after_first


def test_a_refusal_is_replayed_for_its_key_too(
    alice: APIClient, accounts: Any, container: Container
) -> None:
    key = {"HTTP_IDEMPOTENCY_KEY": "too-much"}
    first = transfer(alice, accounts["alice"], accounts["savings"], "500.00", **key)
    after_first = positions(container)
    again = transfer(alice, accounts["alice"], accounts["savings"], "500.00", **key)
    assert error(again) == error(first) and error(first)["code"] == "insufficient_funds"
    assert positions(container) == after_first


def test_a_malformed_key_is_invalid(alice: APIClient, accounts: Any) -> None:
    key = {"HTTP_IDEMPOTENCY_KEY": " x"}
    answer = transfer(alice, accounts["alice"], accounts["savings"], "1.00", **key)
    assert error(answer)["code"] == "invalid"


def place(client: APIClient, account: UUID, quantity: int, sku: str = "MUG", **headers: Any) -> Any:
    items = [{"sku": sku, "quantity": quantity}]
    return graphql(client, PLACE, {"input": {"account": str(account), "items": items}}, **headers)


def test_place_order_confirms_it_and_cancel_order_voids_its_hold(
    alice: APIClient, accounts: Any, container: Container
) -> None:
    placed = place(alice, accounts["alice"], 2, HTTP_IDEMPOTENCY_KEY="mugs").json()["data"]
    order = placed["placeOrder"]["order"]
    assert (order["status"], order["total"], placed["placeOrder"]["cancelReason"]) == (
        "confirmed", "25.00", None,
    )  # fmt: skip
    assert place(alice, accounts["alice"], 2, HTTP_IDEMPOTENCY_KEY="mugs").json()["data"] == placed
    assert posted_and_held(container.ledger, accounts["alice"]) == [(10_000, 2_500)]
    cancelled = graphql(alice, CANCEL, {"id": order["id"]}).json()["data"]["cancelOrder"]
    assert cancelled == {"cancelReason": "cancelled_on_request", "order": {"status": "cancelled"}}
    assert posted_and_held(container.ledger, accounts["alice"]) == [(10_000, 0)]
    assert container.orders.get_product("MUG").available == 5


def test_order_refusals_have_the_rest_codes_and_hold_nothing(
    alice: APIClient, bob: APIClient, accounts: Any, container: Container, staff_client: APIClient
) -> None:
    before = balances(container.ledger, accounts["alice"])
    assert error(place(alice, accounts["alice"], 6).json())["code"] == "out_of_stock"
    assert error(place(alice, accounts["alice"], 1, "GOLD").json())["code"] == "insufficient_funds"
    assert balances(container.ledger, accounts["alice"]) == before
    assert [container.orders.get_product(s).available for s in ("MUG", "GOLD")] == [5, 1]
    assert error(place(bob, accounts["alice"], 1).json())["code"] == "not_found"
    assert error(place(alice, accounts["alice"], 0).json())["code"] == "invalid"
    order_id = place(alice, accounts["alice"], 1).json()["data"]["placeOrder"]["order"]["id"]
    assert error(graphql(bob, CANCEL, {"id": order_id}).json())["code"] == "not_found"
    container.orders.ship_order(UUID(order_id))
    assert error(graphql(alice, CANCEL, {"id": order_id}).json())["code"] == "invalid_state"


def test_a_session_must_send_its_csrf_token_with_a_post_and_a_token_need_not(
    make_user: Any, container: Container
) -> None:
    user = make_user("browser")
    account = funded(container.ledger, 1_000, owner="browser")
    savings = funded(container.ledger, 0, owner="browser")
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    before = positions(container)
    move = {"fromAccount": str(account), "toAccount": str(savings), "amount": "1.00"}
    refused = graphql(browser, TRANSFER, {"input": move})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "permission_denied"
    assert positions(container) == before
    read = browser.get("/graphql", {"query": "{ me { username } }"})  # a GET reads, needs none
    assert read.json() == {"data": {"me": {"username": "browser"}}}
    token = browser.get("/graphql", HTTP_ACCEPT="text/html").cookies["csrftoken"].value
    allowed = transfer(browser, account, savings, "1.00", HTTP_X_CSRFTOKEN=token)
    assert allowed["data"]["transferFunds"]["transfer"]["status"] == "completed"


def test_a_mutation_over_get_is_refused_and_other_methods_too(
    alice: APIClient, accounts: Any, container: Container
) -> None:
    """A GET reads (so a link can never write); strawberry refuses a mutation in one as a bad
    request. PUT and the rest are not GraphQL's methods."""
    before = positions(container)
    query = f'mutation {{ cancelOrder(id: "{accounts["alice"]}") {{ cancelReason }} }}'
    refused = alice.get("/graphql", {"query": query})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "invalid"
    assert "GET" in refused.json()["errors"][0]["message"]
    put = alice.put("/graphql", {"query": "{ me { username } }"}, format="json")
    assert put.status_code == 405
    assert put.json()["errors"][0]["extensions"]["code"] == "method_not_allowed"
    assert positions(container) == before


def test_anonymous_and_bad_tokens_are_refused_before_any_graphql(accounts: Any) -> None:
    anonymous = graphql(APIClient(), "{ me { username } }")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "not_authenticated"
    bad = graphql(APIClient(), "{ me { username } }", HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 401
    assert bad.json()["errors"][0]["extensions"]["code"] == "authentication_failed"


def test_mutations_take_the_write_throttle_and_queries_do_not(
    alice: APIClient, accounts: Any, settings: Any
) -> None:
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "1000/min", "writes": "2/min"},
    }
    try:
        for _ in range(2):
            assert "errors" not in transfer(alice, accounts["alice"], accounts["savings"], "1.00")
        throttled = error(transfer(alice, accounts["alice"], accounts["savings"], "1.00"))
        assert throttled["code"] == "throttled"
        assert graphql(alice, "{ me { username } }").json()["data"]["me"]["username"] == "alice"
    finally:
        cache.clear()
