"""GraphQL's queries as each kind of user sees them: the owner, another customer, staff. Each
answer is what the REST API says of the same thing — the same fields, permissions and codes —
and another customer's account, transfer or order is ``null`` with ``not_found``, worded as for
one that does not exist."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from rest_framework.test import APIClient

from config.container import Container
from tests.support import funded, graphql, project_everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(container: Container, make_user: Any) -> dict[str, UUID]:
    """alice with two accounts, a transfer between them and an order; bob with an account; an
    alert on alice's transfer; every projection up to date."""
    make_user("alice")
    make_user("bob")
    ledger, orders = container.ledger, container.orders
    current = funded(ledger, 100_000, owner="alice")
    savings = funded(ledger, 0, owner="alice")
    bobs = funded(ledger, 5_000, owner="bob")
    transfer = ledger.transfer_funds(current, savings, 2_500, reference="rent").id
    orders.create_product("MUG", "Mug", 1_250, 5)
    order = orders.place_order("alice", current, [("MUG", 1)]).order_id
    alert = container.compliance.raise_alert(
        transfer, current, 2_500, "EUR", "large_transfer", "big"
    ).id
    project_everything(container)
    ids = {"current": current, "savings": savings, "bobs": bobs, "transfer": transfer}
    return {**ids, "order": order, "alert": alert}


@pytest.fixture
def as_user(client_for: Any) -> Any:
    from django.contrib.auth import get_user_model

    def client(username: str) -> APIClient:
        return client_for(get_user_model().objects.get(username=username))

    return client


def ask(client: APIClient, query: str, **variables: Any) -> dict[str, Any]:
    """The answer to a query (HTTP 200: GraphQL says what went wrong in ``errors``)."""
    response = graphql(client, query, {k: str(v) for k, v in variables.items()})
    assert response.status_code == 200, response.content
    answer: dict[str, Any] = response.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


def test_me_is_the_authenticated_user(as_user: Any, staff_client: APIClient, world: Any) -> None:
    assert ask(as_user("alice"), "{ me { username isStaff } }")["data"] == {
        "me": {"username": "alice", "isStaff": False}
    }
    assert ask(staff_client, "{ me { isStaff } }")["data"]["me"]["isStaff"] is True


ACCOUNT = "query($id: UUID!) { account(id: $id) { id owner currency balance status version } }"


def test_an_account_reads_as_the_rest_api_shows_it(as_user: Any, world: Any) -> None:
    alice = as_user("alice")
    answer = ask(alice, ACCOUNT, id=world["current"])
    rest = alice.get(f"/api/accounts/{world['current']}/").json()
    assert answer["data"]["account"] == {
        "id": rest["id"], "owner": "alice", "currency": "EUR", "balance": rest["balance"],
        "status": "open", "version": rest["version"],
    }  # fmt: skip
    # A deposit and a transfer; the order's 12.50 is held, not taken: only less available.
    assert (rest["balance"], rest["available"]) == ("975.00", "962.50")


def test_another_customers_account_is_null_and_not_found_as_one_that_does_not_exist(
    as_user: Any, world: Any
) -> None:
    bob = as_user("bob")
    theirs = ask(bob, ACCOUNT, id=world["current"])
    nobodys_id = uuid4()
    nobodys = ask(bob, ACCOUNT, id=nobodys_id)
    assert theirs["data"] == nobodys["data"] == {"account": None}
    assert codes(theirs) == codes(nobodys) == ["not_found"]
    assert theirs["errors"][0]["message"].replace(str(world["current"]), "ID") == nobodys["errors"][
        0
    ]["message"].replace(str(nobodys_id), "ID")


ACCOUNTS = "query($owner: String) { accounts(owner: $owner) { totalCount results { owner } } }"


def test_accounts_are_a_customers_own_and_everyones_for_staff(
    as_user: Any, staff_client: APIClient, world: Any
) -> None:
    mine = ask(as_user("alice"), ACCOUNTS, owner="bob")["data"]["accounts"]  # staff-only filter
    assert mine["totalCount"] == 2 and {a["owner"] for a in mine["results"]} == {"alice"}
    everyone = ask(staff_client, "{ accounts { totalCount } }")["data"]["accounts"]
    assert everyone["totalCount"] == 5  # and the merchant account the order paid, and cash
    bobs = ask(staff_client, ACCOUNTS, owner="bob")["data"]["accounts"]
    assert [a["owner"] for a in bobs["results"]] == ["bob"]


def test_a_page_is_offset_and_limit_within_the_rest_page_size(as_user: Any, world: Any) -> None:
    alice = as_user("alice")
    page = ask(
        alice, "{ accounts(offset: 1, limit: 1) { totalCount offset limit results { id } } }"
    )
    assert page["data"]["accounts"]["totalCount"] == 2
    assert [page["data"]["accounts"][k] for k in ("offset", "limit")] == [1, 1]
    assert [a["id"] for a in page["data"]["accounts"]["results"]] == [str(world["savings"])]
    for bad in ("limit: 501", "limit: 0", "offset: -1"):
        refused = ask(alice, f"{{ accounts({bad}) {{ totalCount }} }}")
        assert refused["data"] == {"accounts": None} and codes(refused) == ["invalid"], bad


def test_filters_are_validated_as_the_rest_api_validates_them(as_user: Any, world: Any) -> None:
    refused = ask(as_user("alice"), '{ accounts(status: "sleeping") { totalCount } }')
    assert (
        codes(refused) == ["invalid"] and "status" in refused["errors"][0]["extensions"]["details"]
    )


TRANSACTIONS = (
    "query($a: UUID!) { transactions(account: $a) { results { kind direction amount } } }"
)


def test_transactions_are_the_owners_and_not_found_for_another(as_user: Any, world: Any) -> None:
    entries = ask(as_user("alice"), TRANSACTIONS, a=world["current"])["data"]["transactions"]
    assert entries["results"] == [
        {"kind": "hold", "direction": "debit", "amount": "12.50"},  # the order's payment, held
        {"kind": "transfer", "direction": "debit", "amount": "25.00"},
        {"kind": "deposit", "direction": "credit", "amount": "1000.00"},
    ]
    assert codes(ask(as_user("bob"), TRANSACTIONS, a=world["current"])) == ["not_found"]


TRANSFER = (
    "query($id: UUID!) { transfer(id: $id) { status amount reference steps { name status } } }"
)


def test_a_transfer_has_its_steps_and_is_not_found_for_another(
    as_user: Any, staff_client: APIClient, world: Any
) -> None:
    expected = {
        "status": "completed", "amount": "25.00", "reference": "rent",
        "steps": [
            {"name": "debit_source", "status": "succeeded"},
            {"name": "credit_destination", "status": "succeeded"},
        ],
    }  # fmt: skip
    assert ask(as_user("alice"), TRANSFER, id=world["transfer"])["data"]["transfer"] == expected
    assert ask(staff_client, TRANSFER, id=world["transfer"])["data"]["transfer"] == expected
    other = ask(as_user("bob"), TRANSFER, id=world["transfer"])
    assert other["data"] == {"transfer": None} and codes(other) == ["not_found"]
    listed = ask(as_user("bob"), "{ transfers { totalCount } }")["data"]["transfers"]
    assert listed["totalCount"] == 0


ORDER = "query($id: UUID!) { order(id: $id) { id status total items { sku quantity price } } }"
HISTORY = """query($id: UUID!) { orderWithHistory(id: $id) {
  status statusHistory { status } allEvents } }"""


def test_an_order_and_its_history_are_the_owners(as_user: Any, world: Any) -> None:
    alice = as_user("alice")
    order = ask(alice, ORDER, id=world["order"])["data"]["order"]
    assert order == {
        "id": str(world["order"]), "status": "confirmed", "total": "12.50",
        "items": [{"sku": "MUG", "quantity": 1, "price": "12.50"}],
    }  # fmt: skip
    history = ask(alice, HISTORY, id=world["order"])["data"]["orderWithHistory"]
    rest = alice.get(f"/api/orders/{world['order']}/history/").json()
    assert [s["status"] for s in history["statusHistory"]] == ["pending", "confirmed"]
    assert history["allEvents"] == rest["events"]  # the same envelopes, positions and all
    assert {"payment.authorized", "order_placement.completed"} <= {
        e["type"] for e in history["allEvents"]
    }
    for query in (ORDER, HISTORY):
        other = ask(as_user("bob"), query, id=world["order"])
        assert codes(other) == ["not_found"] and list(other["data"].values()) == [None]


def test_the_history_is_decided_by_the_record_and_waits_for_the_projection(
    as_user: Any, container: Container, world: Any
) -> None:
    """An order the projection has not seen is ``projection_behind`` in the history (the store
    says it exists), and ``not_found`` in the projection's own read, as in REST."""
    placed = container.orders.place_order("alice", world["current"], [("MUG", 1)]).order_id
    alice = as_user("alice")
    assert codes(ask(alice, HISTORY, id=placed)) == ["projection_behind"]
    assert codes(ask(alice, ORDER, id=placed)) == ["not_found"]


def test_min_position_waits_as_the_rest_api_waits(
    as_user: Any, container: Container, world: Any, settings: Any
) -> None:
    """Reached: the answer. Beyond the log's head: ``projection_behind`` at once. Within the log
    but not applied (the test applied history without recording positions): after the wait."""
    settings.READ_YOUR_WRITES_TIMEOUT_SECONDS = 0.2
    alice, head = as_user("alice"), container.orders.max_position()
    query = "query($p: Position) { orders(minPosition: $p) { totalCount } }"
    assert graphql(alice, query, {"p": 0}).json()["data"]["orders"]["totalCount"] == 1
    for position in (head + 1_000, head):
        answer = graphql(alice, query, {"p": position}).json()
        assert answer["data"] == {"orders": None} and codes(answer) == ["projection_behind"]
        assert answer["errors"][0]["extensions"]["details"]["min_position"] == position
        assert ("within 0.2 s" in answer["errors"][0]["message"]) == (position == head)
    for beyond_a_bigint in (2**63, -1, "1"):
        assert codes(graphql(alice, query, {"p": beyond_a_bigint}).json()) == ["invalid"]


def test_products_are_for_every_user(as_user: Any, world: Any) -> None:
    products = ask(as_user("bob"), "{ products { results { sku price available } } }")
    assert products["data"]["products"]["results"] == [
        {"sku": "MUG", "price": "12.50", "available": 4}
    ]


ALERTS = "query($s: String) { alerts(status: $s) { totalCount results { rule status amount } } }"


def test_alerts_are_staff_only(as_user: Any, staff_client: APIClient, world: Any) -> None:
    alerts = ask(staff_client, ALERTS, s="open")["data"]["alerts"]
    assert alerts["results"] == [{"rule": "large_transfer", "status": "open", "amount": "25.00"}]
    assert ask(staff_client, ALERTS, s="cleared")["data"]["alerts"]["totalCount"] == 0
    refused = ask(as_user("alice"), ALERTS, s="open")
    assert refused["data"] == {"alerts": None} and codes(refused) == ["permission_denied"]


def test_one_refused_field_leaves_the_others_answered(as_user: Any, world: Any) -> None:
    answer = ask(as_user("alice"), "{ me { username } alerts { totalCount } }")
    assert answer["data"] == {"me": {"username": "alice"}, "alerts": None}
    assert answer["errors"][0]["path"] == ["alerts"]
