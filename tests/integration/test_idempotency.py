"""Idempotency-Key: the first answer again for the same request; 422 for another; one effect."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.idempotency import KEY_PATTERN
from config.container import Container
from tests.integration.test_ledger_api import assert_error, balance, deposit, open_account
from tests.support import released_together


@pytest.fixture
def alice_client(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


def post(client: APIClient, path: str, body: dict[str, Any], key: str) -> Any:
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retried_deposit_returns_the_first_answer_and_applies_once(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    first = post(staff_client, f"/api/accounts/{account}/deposits/", {"amount": "5.00"}, "dep-1")
    again = post(staff_client, f"/api/accounts/{account}/deposits/", {"amount": "5.00"}, "dep-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert balance(alice_client, account) == "5.00"


@pytest.mark.django_db
def test_a_retried_account_opening_returns_the_same_account(
    container: Container, alice_client
) -> None:
    first = post(alice_client, "/api/accounts/", {"currency": "EUR"}, "open-1")
    again = post(alice_client, "/api/accounts/", {"currency": "EUR"}, "open-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]


@pytest.mark.django_db
def test_a_retried_transfer_is_one_transfer(
    container: Container, alice_client, staff_client
) -> None:
    a, b = open_account(alice_client)["id"], open_account(alice_client)["id"]
    deposit(staff_client, a, "10.00")
    body = {"from_account": a, "to_account": b, "amount": "4.00"}
    first, again = (
        post(alice_client, "/api/transfers/", body, "t-1"),
        post(alice_client, "/api/transfers/", body, "t-1"),
    )
    assert (
        first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    )
    assert (balance(alice_client, a), balance(alice_client, b)) == ("6.00", "4.00")


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422_and_changes_nothing(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    post(staff_client, f"/api/accounts/{account}/deposits/", {"amount": "5.00"}, "dep-1")
    assert_error(
        post(staff_client, f"/api/accounts/{account}/deposits/", {"amount": "6.00"}, "dep-1"),
        422,
        "idempotency_conflict",
    )
    assert balance(alice_client, account) == "5.00"


@pytest.mark.django_db
def test_a_refusal_is_replayed_too(container: Container, alice_client, staff_client) -> None:
    account = open_account(alice_client)["id"]
    refused = post(alice_client, f"/api/accounts/{account}/withdrawals/", {"amount": "1.00"}, "w-1")
    assert_error(refused, 409, "insufficient_funds")
    deposit(staff_client, account, "10.00")
    replay = post(alice_client, f"/api/accounts/{account}/withdrawals/", {"amount": "1.00"}, "w-1")
    assert replay.status_code == 409 and replay.json() == refused.json()
    assert balance(alice_client, account) == "10.00"


@pytest.mark.django_db
def test_invalid_input_does_not_use_up_the_key(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    assert (
        post(
            staff_client, f"/api/accounts/{account}/deposits/", {"amount": "x"}, "dep-1"
        ).status_code
        == 400
    )
    assert (
        post(
            staff_client, f"/api/accounts/{account}/deposits/", {"amount": "2.00"}, "dep-1"
        ).status_code
        == 201
    )


@pytest.mark.django_db
def test_keys_belong_to_their_user(
    container: Container, alice_client, make_user, client_for
) -> None:
    bob = client_for(make_user("bob"))
    mine = post(alice_client, "/api/accounts/", {}, "same-key").json()
    bobs = post(bob, "/api/accounts/", {}, "same-key").json()
    assert mine["id"] != bobs["id"] and (mine["owner"], bobs["owner"]) == ("alice", "bob")


@pytest.mark.django_db
def test_an_overlong_key_is_refused(container: Container, alice_client) -> None:
    assert_error(post(alice_client, "/api/accounts/", {}, "k" * 256), 400, "invalid")


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_have_one_effect(
    container: Container, make_user, client_for, staff
) -> None:
    alice_client, staff_client = client_for(make_user("alice")), client_for(staff)
    a, b = open_account(alice_client)["id"], open_account(alice_client)["id"]
    deposit(staff_client, a, "10.00")
    body = {"from_account": a, "to_account": b, "amount": "3.00"}

    def send(_: int) -> Any:
        client = APIClient()
        client.credentials(**alice_client._credentials)
        try:
            return post(client, "/api/transfers/", body, "race-1")
        finally:
            connection.close()  # each thread has its own; leave none open at teardown

    responses, errors = released_together(8, send)
    assert errors == []
    assert [r.status_code for r in responses] == [201] * 8, [r.json() for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert (balance(alice_client, a), balance(alice_client, b)) == ("7.00", "3.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    ["", " leading", "trailing ", "caf\u00c3\u00a9", "x" * 256, "tab\there"],
    ids=["empty", "leading space", "trailing space", "non-ASCII", "256 long", "a tab"],
)
def test_a_key_the_schema_does_not_allow_is_400_saying_what_is(
    container: Container, alice_client, key: str
) -> None:
    """``café`` arrives as Latin-1 (``cafÃ©``): the message says what a key may be."""
    refused = assert_error(post(alice_client, "/api/accounts/", {}, key), 400, "invalid")
    assert "printable ASCII" in refused["message"]
    assert container.ledger.max_position() == 0


@pytest.mark.django_db
def test_keys_the_schema_allows_are_taken(container: Container, alice_client) -> None:
    for key in ["a", "x" * 255, "with inner spaces", "!~"]:
        assert post(alice_client, "/api/accounts/", {}, key).status_code == 201, key


@pytest.mark.django_db
def test_the_schema_says_what_a_key_may_be(client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    (header,) = [p for p in paths["/api/transfers/"]["post"]["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["schema"] == {
        "type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN,
    }  # fmt: skip
