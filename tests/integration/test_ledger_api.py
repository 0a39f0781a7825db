"""The ledger over HTTP: what a customer and an operator do, and every refusal changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from config.container import Container

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def alice_client(alice, client_for) -> APIClient:
    return client_for(alice)


def open_account(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/accounts/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def deposit(staff_client: APIClient, account: str, amount: str) -> None:
    response = staff_client.post(
        f"/api/accounts/{account}/deposits/", {"amount": amount}, format="json"
    )
    assert response.status_code == 201, response.json()


def balance(client: APIClient, account: str) -> str:
    return client.get(f"/api/accounts/{account}/").json()["balance"]


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code and body["message"]
    return body


def test_the_readme_walk_open_deposit_transfer_read_steps(
    container: Container, alice_client, staff_client
) -> None:
    mine, savings = open_account(alice_client), open_account(alice_client, currency="EUR")
    assert (mine["owner"], mine["currency"], mine["balance"], mine["status"]) == (
        "alice",
        "EUR",
        "0.00",
        "open",
    )
    assert mine["position"] >= 1
    deposit(staff_client, mine["id"], "100.00")

    response = alice_client.post(
        "/api/transfers/",
        {
            "from_account": mine["id"],
            "to_account": savings["id"],
            "amount": "12.50",
            "reference": "rainy day",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    transfer = response.json()
    assert (transfer["status"], transfer["amount"], transfer["reference"]) == (
        "completed",
        "12.50",
        "rainy day",
    )
    assert [(s["name"], s["status"]) for s in transfer["steps"]] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "succeeded"),
    ]
    detail = alice_client.get(f"/api/transfers/{transfer['id']}/").json()
    assert detail["steps"] == transfer["steps"] and detail["status"] == "completed"
    assert (balance(alice_client, mine["id"]), balance(alice_client, savings["id"])) == (
        "87.50",
        "12.50",
    )


def test_withdrawal_and_insufficient_funds(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    deposit(staff_client, account, "10.00")
    ok = alice_client.post(
        f"/api/accounts/{account}/withdrawals/", {"amount": "4.00"}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["balance"] == "6.00"
    refused = alice_client.post(
        f"/api/accounts/{account}/withdrawals/", {"amount": "6.01"}, format="json"
    )
    assert_error(refused, 409, "insufficient_funds")
    assert balance(alice_client, account) == "6.00"


def test_a_refused_transfer_answers_409_with_the_code_and_the_transfer_id(
    container: Container, alice_client, staff_client, make_user, client_for
) -> None:
    mine = open_account(alice_client)["id"]
    deposit(staff_client, mine, "50.00")
    dollars = open_account(client_for(make_user("bob")), currency="USD")["id"]
    body = assert_error(
        alice_client.post(
            "/api/transfers/",
            {"from_account": mine, "to_account": dollars, "amount": "5.00"},
            format="json",
        ),
        409,
        "currency_mismatch",
    )
    transfer = alice_client.get(f"/api/transfers/{body['details']['transfer_id']}/").json()
    assert transfer["status"] == "compensated" and transfer["failure_code"] == "currency_mismatch"
    assert balance(alice_client, mine) == "50.00"

    poor = open_account(alice_client)["id"]
    body = assert_error(
        alice_client.post(
            "/api/transfers/",
            {"from_account": poor, "to_account": mine, "amount": "5.00"},
            format="json",
        ),
        409,
        "insufficient_funds",
    )
    assert body["details"]["status"] == "failed"


def test_a_frozen_account_refuses_withdrawals(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    deposit(staff_client, account, "10.00")
    assert (
        staff_client.post(
            f"/api/accounts/{account}/freeze/", {"reason": "review"}, format="json"
        ).json()["status"]
        == "frozen"
    )
    assert_error(
        alice_client.post(
            f"/api/accounts/{account}/withdrawals/", {"amount": "1.00"}, format="json"
        ),
        409,
        "account_frozen",
    )
    assert staff_client.post(f"/api/accounts/{account}/unfreeze/").json()["status"] == "open"
    assert balance(alice_client, account) == "10.00"


def test_same_account_is_refused_before_anything_starts(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    deposit(staff_client, account, "10.00")
    before = container.ledger.max_position()
    assert_error(
        alice_client.post(
            "/api/transfers/",
            {"from_account": account, "to_account": account, "amount": "1.00"},
            format="json",
        ),
        409,
        "same_account",
    )
    assert container.ledger.max_position() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1e400"}, "amount"),
        ({"amount": 1.505}, "amount"),
        ({"amount": ["1.00"]}, "amount"),
        ({"amount": "99999999999.00"}, "amount"),
        ({}, "amount"),
        ({"amount": "1.00", "currency": "EUR"}, "currency"),
        ({"amount": "1.00", "account": "x"}, "account"),
    ],
)
def test_bad_withdrawals_are_400_naming_the_field_and_change_nothing(
    container: Container, alice_client, staff_client, body: dict[str, Any], field: str
) -> None:
    account = open_account(alice_client)["id"]
    deposit(staff_client, account, "10.00")
    before = container.ledger.max_position()
    response = alice_client.post(f"/api/accounts/{account}/withdrawals/", body, format="json")
    assert field in assert_error(response, 400, "invalid")["details"]
    assert container.ledger.max_position() == before


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'"amount"',
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_malformed_json_is_400_invalid(
    container: Container, alice_client, staff_client, raw: bytes
) -> None:
    account = open_account(alice_client)["id"]
    response = alice_client.generic(
        "POST", f"/api/accounts/{account}/withdrawals/", raw, content_type="application/json"
    )
    assert_error(response, 400, "invalid")


def test_json_numbers_are_exact_not_floats(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    response = staff_client.generic(
        "POST",
        f"/api/accounts/{account}/deposits/",
        b'{"amount": 0.1}',
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["balance"] == "0.10"


def test_customers_see_and_move_only_their_own_accounts(
    container: Container, alice_client, make_user, client_for, staff_client
) -> None:
    bobs = open_account(client_for(make_user("bob")))["id"]
    deposit(staff_client, bobs, "10.00")
    mine = open_account(alice_client)["id"]
    for response in [
        alice_client.get(f"/api/accounts/{bobs}/"),
        alice_client.get(f"/api/accounts/{bobs}/events/"),
        alice_client.post(f"/api/accounts/{bobs}/withdrawals/", {"amount": "1.00"}, format="json"),
        alice_client.post(
            "/api/transfers/",
            {"from_account": bobs, "to_account": mine, "amount": "1.00"},
            format="json",
        ),
        alice_client.post(f"/api/accounts/{bobs}/close/"),
    ]:
        assert_error(response, 404, "not_found")
    assert balance(staff_client, bobs) == "10.00"


def test_a_customer_may_pay_into_anothers_account(
    container: Container, alice_client, make_user, client_for, staff_client
) -> None:
    bob = client_for(make_user("bob"))
    bobs, mine = open_account(bob)["id"], open_account(alice_client)["id"]
    deposit(staff_client, mine, "10.00")
    response = alice_client.post(
        "/api/transfers/",
        {"from_account": mine, "to_account": bobs, "amount": "3.00"},
        format="json",
    )
    assert response.status_code == 201
    assert (
        bob.get(f"/api/transfers/{response.json()['id']}/").status_code == 200
    )  # the payee sees it too
    assert balance(bob, bobs) == "3.00"


def test_only_staff_deposit_freeze_and_open_for_others(container: Container, alice_client) -> None:
    account = open_account(alice_client)["id"]
    assert_error(
        alice_client.post(f"/api/accounts/{account}/deposits/", {"amount": "1.00"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        alice_client.post(f"/api/accounts/{account}/freeze/", {"reason": "x"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        alice_client.post("/api/accounts/", {"owner": "someone"}, format="json"),
        403,
        "permission_denied",
    )


def test_staff_open_accounts_for_existing_customers_only(
    container: Container, staff_client, alice
) -> None:
    assert open_account(staff_client, owner="alice")["owner"] == "alice"
    # "nobody" is not found, as any other thing a body names that does not exist
    assert_error(
        staff_client.post("/api/accounts/", {"owner": "nobody"}, format="json"), 404, "not_found"
    )


def test_anonymous_requests_are_401(container: Container) -> None:
    assert_error(APIClient().post("/api/accounts/", {}, format="json"), 401, "not_authenticated")


def test_token_endpoint(container: Container, alice) -> None:
    response = APIClient().post(
        "/api/auth/token/",
        {"username": "alice", "password": "correct horse battery staple"},
        format="json",
    )
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.post("/api/accounts/", {}, format="json").status_code == 201
    refused = APIClient().post(
        "/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json"
    )
    assert_error(refused, 400, "invalid")
    # The input's own words, not the name of DRF's key for errors of the input as a whole.
    assert refused.json()["message"] == "Unable to log in with provided credentials."
    missing = APIClient().post("/api/auth/token/", {"username": "alice"}, format="json")
    assert missing.json()["message"] == "Invalid input: password."


def test_a_token_that_is_unknown_or_whose_user_is_inactive_is_401_and_changes_nothing(
    container: Container, alice, client_for
) -> None:
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert_error(stranger.post("/api/accounts/", {}, format="json"), 401, "authentication_failed")

    client = client_for(alice)
    alice.is_active = False
    alice.save()
    assert_error(client.post("/api/accounts/", {}, format="json"), 401, "authentication_failed")
    assert_error(client.get("/api/accounts/"), 401, "authentication_failed")
    assert container.ledger.max_position() == 0  # no account was opened


def test_account_events_come_from_the_store_with_correlation(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    staff_client.post(
        f"/api/accounts/{account}/deposits/",
        {"amount": "2.00"},
        format="json",
        HTTP_X_CORRELATION_ID="trace-42",
    )
    events = alice_client.get(f"/api/accounts/{account}/events/").json()["results"]
    assert [e["type"] for e in events] == ["account.opened", "account.credited"]
    assert events[1]["correlation_id"] == "trace-42" and events[1]["data"]["amount"] == "2.00"


def test_account_events_carry_their_positions_in_the_ledgers_log_a_page_at_a_time(
    container: Container, alice_client, staff_client
) -> None:
    account = open_account(alice_client)["id"]
    open_account(alice_client)  # another aggregate's events interleave in the log
    for n in range(4):
        staff_client.post(
            f"/api/accounts/{account}/deposits/", {"amount": f"{n + 1}.00"}, format="json"
        )
        open_account(alice_client)
    logged = {
        (str(n.originator_id), n.originator_version): n.id
        for n in container.ledger.notifications_after(0, 1000)
    }
    first = alice_client.get(f"/api/accounts/{account}/events/?page_size=2").json()
    assert first["count"] == 5 and first["previous"] is None and first["next"]
    assert [e["aggregate_version"] for e in first["results"]] == [1, 2]
    later = alice_client.get(f"/api/accounts/{account}/events/?page_size=2&page=3").json()
    assert [e["aggregate_version"] for e in later["results"]] == [5]
    assert later["next"] is None and later["previous"]
    every = alice_client.get(f"/api/accounts/{account}/events/").json()["results"]
    assert [e["position"] for e in every] == [
        logged[(account, e["aggregate_version"])] for e in every
    ]
    assert all(isinstance(e["position"], int) for e in every)
    past_the_end = alice_client.get(f"/api/accounts/{account}/events/?page_size=2&page=4")
    assert_error(past_the_end, 404, "not_found")


def test_responses_echo_the_correlation_id(container: Container, alice_client) -> None:
    response = alice_client.post(
        "/api/accounts/", {}, format="json", HTTP_X_CORRELATION_ID="abc-123"
    )
    assert response["X-Correlation-ID"] == "abc-123"
    assert alice_client.get("/healthz")["X-Correlation-ID"]
