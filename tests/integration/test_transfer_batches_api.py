"""``POST /api/transfer-batches/``: many transfers in one request, one result each, in order;
checked like single transfers before anything moves; linked batches all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.integration.test_ledger_api import assert_error, balance, deposit, open_account

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("container")]


@pytest.fixture
def alice_client(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


@pytest.fixture
def bob_client(make_user, client_for) -> APIClient:
    return client_for(make_user("bob"))


def item(source: str, destination: str, amount: str, **extra: str) -> dict[str, str]:
    return {"from_account": source, "to_account": destination, "amount": amount, **extra}


def submit(client: APIClient, transfers: Any, **body: Any) -> Any:
    return client.post("/api/transfer-batches/", {"transfers": transfers, **body}, format="json")


def test_a_batch_answers_one_result_per_transfer_in_the_order_sent(
    alice_client: APIClient, bob_client: APIClient, staff_client: APIClient
) -> None:
    mine = open_account(alice_client)["id"]
    bobs = open_account(bob_client)["id"]
    deposit(staff_client, mine, "100.00")
    response = submit(
        alice_client,
        [item(mine, bobs, "60.00"), item(mine, bobs, "60.00"), item(mine, bobs, "40.00")],
    )
    body = response.json()
    assert response.status_code == 201, body
    assert set(body) == {"id", "linked", "transfers", "position"} and body["linked"] is False
    assert [(t["status"], t.get("code")) for t in body["transfers"]] == [
        ("completed", None),
        ("failed", "insufficient_funds"),
        ("completed", None),
    ]
    assert balance(alice_client, mine) == "0.00"
    read_back = alice_client.get(f"/api/transfer-batches/{body['id']}/").json()
    assert read_back == {k: v for k, v in body.items() if k != "position"}
    first = alice_client.get(f"/api/transfers/{body['transfers'][0]['id']}/").json()
    assert (first["status"], first["amount"], first["to_account"]) == ("completed", "60.00", bobs)
    # Bob received money, but did not submit the batch: to him it does not exist.
    assert_error(bob_client.get(f"/api/transfer-batches/{body['id']}/"), 404, "not_found")
    assert staff_client.get(f"/api/transfer-batches/{body['id']}/").status_code == 200


def test_a_linked_batch_moves_nothing_when_one_transfer_is_refused(
    alice_client: APIClient, bob_client: APIClient, staff_client: APIClient
) -> None:
    mine = open_account(alice_client)["id"]
    bobs = open_account(bob_client)["id"]
    deposit(staff_client, mine, "100.00")
    response = submit(
        alice_client, [item(mine, bobs, "60.00"), item(mine, bobs, "60.00")], linked=True
    )
    body = response.json()
    assert response.status_code == 201, body
    assert [(t["status"], t["code"]) for t in body["transfers"]] == [
        ("failed", "linked_event_failed"),
        ("failed", "insufficient_funds"),
    ]
    assert balance(alice_client, mine) == "100.00"
    assert balance(bob_client, bobs) == "0.00"


def test_another_customers_account_among_mine_refuses_the_batch_and_nothing_moves(
    alice_client: APIClient, bob_client: APIClient, staff_client: APIClient
) -> None:
    mine = open_account(alice_client)["id"]
    bobs = open_account(bob_client)["id"]
    deposit(staff_client, mine, "100.00")
    deposit(staff_client, bobs, "100.00")
    response = submit(alice_client, [item(mine, bobs, "10.00"), item(bobs, mine, "50.00")])
    assert_error(response, 404, "not_found")
    assert (balance(alice_client, mine), balance(bob_client, bobs)) == ("100.00", "100.00")
    assert staff_client.get("/api/transfers/").json()["count"] == 0


def test_one_idempotency_key_covers_the_batch(
    alice_client: APIClient, bob_client: APIClient, staff_client: APIClient
) -> None:
    mine = open_account(alice_client)["id"]
    bobs = open_account(bob_client)["id"]
    deposit(staff_client, mine, "100.00")
    batch = [item(mine, bobs, "30.00"), item(mine, bobs, "20.00")]
    key = "payroll-2026-12"
    first = alice_client.post(
        "/api/transfer-batches/", {"transfers": batch}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    again = alice_client.post(
        "/api/transfer-batches/", {"transfers": batch}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert balance(alice_client, mine) == "50.00"


@pytest.mark.parametrize(
    ("transfers", "field"),
    [
        ([], "transfers"),
        ("not a list", "transfers"),
        ([{"from_account": "x"}], "transfers"),
    ],
)
def test_a_malformed_batch_is_refused_whole(
    alice_client: APIClient, transfers: Any, field: str
) -> None:
    body = assert_error(submit(alice_client, transfers), 400, "invalid")
    assert field in body["details"]


def test_more_than_a_thousand_transfers_are_refused_before_any_is_read(
    alice_client: APIClient,
) -> None:
    mine = open_account(alice_client)["id"]
    too_many = [item(mine, mine, "0.01")] * 1001  # each would be refused too, if it were read
    body = assert_error(submit(alice_client, too_many), 400, "invalid")
    assert "1000" in str(body["details"]["transfers"])


def test_two_transfers_with_one_reference_are_refused(
    alice_client: APIClient, bob_client: APIClient
) -> None:
    mine = open_account(alice_client)["id"]
    bobs = open_account(bob_client)["id"]
    same = [item(mine, bobs, "1.00", reference="rent"), item(mine, bobs, "1.00", reference="rent")]
    assert_error(submit(alice_client, same), 400, "invalid")
    # The same transfer twice without a reference is two transfers: a batch may pay twice.
    twice = [item(mine, bobs, "1.00"), item(mine, bobs, "1.00")]
    body = submit(alice_client, twice).json()
    assert [t["code"] for t in body["transfers"]] == ["insufficient_funds"] * 2
