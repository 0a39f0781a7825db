"""Holds over HTTP: the payer sets money aside, the payee captures or voids it, each at most once,
and whoever is neither sees nothing. What the customer's statement shows of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.container import Container
from projections.models import LedgerEntry
from tests.support import project_everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user: Any, client_for: Any) -> dict[str, APIClient]:
    return {name: client_for(make_user(name)) for name in ("payer", "payee", "stranger")}


@pytest.fixture
def accounts(people: dict[str, APIClient], staff_client: APIClient) -> dict[str, str]:
    made = {}
    for name in ("payer", "payee"):
        response = people[name].post("/api/accounts/", {}, format="json")
        assert response.status_code == 201
        made[name] = response.json()["id"]
    deposit = staff_client.post(
        f"/api/accounts/{made['payer']}/deposits/", {"amount": "100.00"}, format="json"
    )
    assert deposit.status_code == 201
    return made


def place(client: APIClient, accounts: dict[str, str], amount: str, **more: Any) -> Any:
    """POST a hold from the payer to the payee; ``HTTP_*`` arguments are headers, the rest body."""
    headers = {k: v for k, v in more.items() if k.startswith("HTTP_")}
    body = {"from_account": accounts["payer"], "to_account": accounts["payee"], "amount": amount}
    body |= {k: v for k, v in more.items() if k not in headers}
    return client.post("/api/holds/", body, format="json", **headers)


def account(client: APIClient, account_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/accounts/{account_id}/").json()
    return body


def refused(response: Any, status: int, code: str) -> None:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body


def test_a_hold_sets_money_aside_and_a_partial_capture_posts_part_of_it(
    people: dict[str, APIClient], accounts: dict[str, str]
) -> None:
    payer, payee = people["payer"], people["payee"]
    placed = place(payer, accounts, "60.00", reference="hotel")
    assert placed.status_code == 201, placed.json()
    hold = placed.json()
    assert (hold["status"], hold["amount"], hold["captured"], hold["currency"]) == (
        "pending",
        "60.00",
        None,
        "EUR",
    )
    assert hold["position"] >= 1
    mine = account(payer, accounts["payer"])
    assert (mine["balance"], mine["available"], mine["held"]) == ("100.00", "40.00", "60.00")
    refused(place(payer, accounts, "40.01"), 409, "insufficient_funds")  # against available

    capture = payee.post(f"/api/holds/{hold['id']}/capture/", {"amount": "25.00"}, format="json")
    assert capture.status_code == 200, capture.json()
    assert (capture.json()["status"], capture.json()["captured"]) == ("captured", "25.00")
    again = payee.post(f"/api/holds/{hold['id']}/capture/", {}, format="json")
    assert (again.status_code, again.json()["captured"]) == (200, "25.00")  # the first answer
    mine = account(payer, accounts["payer"])
    assert (mine["balance"], mine["available"], mine["held"]) == ("75.00", "75.00", "0.00")
    assert account(payee, accounts["payee"])["balance"] == "25.00"
    refused(payee.post(f"/api/holds/{hold['id']}/void/"), 409, "invalid_state")


def test_a_voided_hold_moves_nothing_and_the_statement_shows_it_set_aside_and_free(
    container: Container, people: dict[str, APIClient], accounts: dict[str, str]
) -> None:
    payer, payee = people["payer"], people["payee"]
    hold = place(payer, accounts, "30.00").json()
    voided = payee.post(f"/api/holds/{hold['id']}/void/")
    assert (voided.status_code, voided.json()["status"]) == (200, "voided")
    assert payee.post(f"/api/holds/{hold['id']}/void/").json()["status"] == "voided"
    refused(payee.post(f"/api/holds/{hold['id']}/capture/"), 409, "invalid_state")
    mine = account(payer, accounts["payer"])
    assert (mine["balance"], mine["available"]) == ("100.00", "100.00")

    project_everything(container)
    statement = payer.get(f"/api/accounts/{accounts['payer']}/transactions/?kind=hold").json()
    assert [(e["phase"], e["direction"], e["amount"]) for e in statement["results"]] == [
        ("released", "debit", "30.00"),
        ("pending", "debit", "30.00"),
    ]
    assert {e["reference"] for e in statement["results"]} == {hold["id"]}
    posted = payer.get(f"/api/accounts/{accounts['payer']}/transactions/?phase=posted").json()
    assert [e["kind"] for e in posted["results"]] == ["deposit"]  # nothing else moved


def test_the_payer_places_and_reads_the_payee_settles_and_a_stranger_sees_nothing(
    people: dict[str, APIClient], accounts: dict[str, str], staff_client: APIClient
) -> None:
    payer, payee, stranger = people["payer"], people["payee"], people["stranger"]
    refused(place(payee, accounts, "1.00"), 404, "not_found")  # not the payee's money
    hold = place(payer, accounts, "10.00").json()
    for client in (payer, payee, staff_client):
        assert client.get(f"/api/holds/{hold['id']}/").status_code == 200
    refused(stranger.get(f"/api/holds/{hold['id']}/"), 404, "not_found")
    refused(stranger.post(f"/api/holds/{hold['id']}/capture/"), 404, "not_found")
    refused(payer.post(f"/api/holds/{hold['id']}/capture/"), 403, "permission_denied")
    refused(payer.post(f"/api/holds/{hold['id']}/void/"), 403, "permission_denied")
    assert staff_client.post(f"/api/holds/{hold['id']}/void/").status_code == 200


def test_one_idempotency_key_places_one_hold(
    people: dict[str, APIClient], accounts: dict[str, str]
) -> None:
    payer = people["payer"]
    first = place(payer, accounts, "10.00", HTTP_IDEMPOTENCY_KEY="hotel-1")
    again = place(payer, accounts, "10.00", HTTP_IDEMPOTENCY_KEY="hotel-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert account(payer, accounts["payer"])["held"] == "10.00"
    refused(
        place(payer, accounts, "11.00", HTTP_IDEMPOTENCY_KEY="hotel-1"), 422, "idempotency_conflict"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": 59},
        {"expires_in": 90 * 24 * 60 * 60 + 1},
        {"expires_in": "soon"},
        {"amount": "0.00"},
        {"amount": "1e3"},
        {"to_account": "not-an-id"},
        {"unexpected": 1},
    ],
)
def test_a_hold_with_bad_input_is_refused_and_nothing_is_held(
    people: dict[str, APIClient], accounts: dict[str, str], body: dict[str, Any]
) -> None:
    refused(place(people["payer"], accounts, body.pop("amount", "1.00"), **body), 400, "invalid")
    assert account(people["payer"], accounts["payer"])["held"] == "0.00"


def test_an_expired_hold_is_neither_captured_nor_voided(
    container: Container, people: dict[str, APIClient], accounts: dict[str, str]
) -> None:
    hold = place(people["payer"], accounts, "10.00", expires_in=60).json()
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert [str(h.id) for h in container.ledger.expire_holds(now=later)] == [hold["id"]]
    assert people["payee"].get(f"/api/holds/{hold['id']}/").json()["status"] == "expired"
    refused(people["payee"].post(f"/api/holds/{hold['id']}/capture/"), 409, "invalid_state")
    assert account(people["payer"], accounts["payer"])["available"] == "100.00"


def test_the_entries_of_a_capture_are_a_release_and_a_posting(
    container: Container, people: dict[str, APIClient], accounts: dict[str, str]
) -> None:
    hold = place(people["payer"], accounts, "50.00").json()
    people["payee"].post(f"/api/holds/{hold['id']}/capture/", {"amount": "20.00"}, format="json")
    project_everything(container)
    rows = LedgerEntry.objects.filter(reference=hold["id"]).order_by("account_id", "version")
    by_account: dict[str, list[tuple[str, str, int]]] = {}
    for row in rows:
        by_account.setdefault(str(row.account_id), []).append(
            (row.phase, row.direction, row.amount)
        )
    assert by_account == {
        accounts["payer"]: [
            ("pending", "debit", 5000),
            ("released", "debit", 5000),
            ("posted", "debit", 2000),
        ],
        accounts["payee"]: [
            ("pending", "credit", 5000),
            ("released", "credit", 5000),
            ("posted", "credit", 2000),
        ],
    }
