"""Which reads run as a client's read of the projections — the ones a read replica may serve
(``config/routers.py``). A spy router, put in front, notes each read of a model and whether it
ran in an ``api.consistency.reading_projections()`` scope: the REST lists and order reads and
GraphQL's queries (their ``min_position`` waits included) do; writes, mutations and the
projectors applying events do not."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db.models import Model
from rest_framework.test import APIClient

from api.consistency import projection_reads
from config.container import Container
from config.routers import is_read_model
from tests.support import funded, graphql, project_everything

pytestmark = pytest.mark.django_db

READS: list[tuple[str, bool]] = []  # (model label, in a client's read of the projections)


class SpyRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> None:
        READS.append((model._meta.label_lower, projection_reads() is not None))


@pytest.fixture
def spy(settings: Any) -> list[tuple[str, bool]]:
    settings.DATABASE_ROUTERS = [f"{__name__}.SpyRouter"]
    READS.clear()
    return READS


@pytest.fixture
def world(container: Container, make_user: Any, client_for: Any) -> dict[str, Any]:
    alice = make_user("alice")
    ledger, orders = container.ledger, container.orders
    current = funded(ledger, 100_000, owner="alice")
    savings = funded(ledger, 0, owner="alice")
    orders.create_product("MUG", "Mug", 1_250, 5)
    order = orders.place_order("alice", current, [("MUG", 1)]).order_id
    project_everything(container)
    return {"client": client_for(alice), "current": current, "savings": savings, "order": order}


def read_models(reads: list[tuple[str, bool]]) -> dict[str, set[bool]]:
    seen: dict[str, set[bool]] = {}
    for label, scoped in reads:
        if is_read_model(apps.get_model(label)):
            seen.setdefault(label, set()).add(scoped)
    return seen


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/api/accounts/", "projections.accountsummary"),
        ("/api/accounts/{current}/transactions/", "projections.ledgerentry"),
        ("/api/transfers/", "projections.transfersummary"),
        ("/api/products/", "projections.productstock"),
        ("/api/orders/", "projections.ordersummary"),
        ("/api/orders/{order}/", "projections.ordersummary"),
        ("/api/orders/{order}/history/", "projections.ordersummary"),
    ],
)
def test_rest_reads_of_projections_and_their_waits_are_a_clients_read(
    world: dict[str, Any], spy: list[tuple[str, bool]], path: str, model: str
) -> None:
    client: APIClient = world["client"]
    response = client.get(path.format(**world) + "?min_position=0")
    assert response.status_code == 200, response.content
    assert read_models(spy) == {model: {True}, "messaging.subscriberposition": {True}}


def test_staffs_alert_list_is_a_clients_read(
    container: Container, staff_client: APIClient, spy: list[tuple[str, bool]]
) -> None:
    assert staff_client.get("/api/compliance/alerts/?min_position=0").status_code == 200
    assert read_models(spy) == {
        "projections.alertsummary": {True},
        "messaging.subscriberposition": {True},
    }


def test_a_graphql_query_is_a_clients_read_and_a_mutation_is_not(
    world: dict[str, Any], spy: list[tuple[str, bool]]
) -> None:
    client: APIClient = world["client"]
    query = "query($p: Position) { accounts(minPosition: $p) { totalCount } }"
    assert graphql(client, query, {"p": 0}).json()["data"]["accounts"]["totalCount"] == 2
    assert read_models(spy) == {
        "projections.accountsummary": {True},
        "messaging.subscriberposition": {True},
    }

    spy.clear()
    mutation = """mutation($input: TransferFundsInput!) {
      transferFunds(input: $input) { transfer { status } }
    }"""
    move = {"fromAccount": str(world["current"]), "toAccount": str(world["savings"])}
    answer = graphql(client, mutation, {"input": {**move, "amount": "1.00"}}).json()
    assert answer["data"]["transferFunds"]["transfer"]["status"] == "completed", answer
    assert all(not scoped for _, scoped in spy)


def test_writes_and_projectors_read_on_the_primary(
    world: dict[str, Any], container: Container, spy: list[tuple[str, bool]]
) -> None:
    client: APIClient = world["client"]
    body = {"from_account": str(world["current"]), "to_account": str(world["savings"])}
    response = client.post("/api/transfers/", {**body, "amount": "2.00"}, format="json")
    assert response.status_code == 201, response.content
    project_everything(container)  # the projectors, reading the rows they are about to change
    assert spy and all(not scoped for _, scoped in spy)
    assert "projections.accountsummary" in read_models(spy)
