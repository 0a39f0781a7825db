"""``GET /api/transfers/``: the transfers projection over HTTP — a customer sees the transfers
to or from its own accounts, filtered and ordered, and can wait for its own write."""

from __future__ import annotations

import asyncio

import pytest

from config.container import Container
from messaging.runtime import relay_events, run_subscribers
from tests.integration.conftest import Bus
from tests.integration.test_ledger_api import assert_error, deposit, open_account

pytestmark = pytest.mark.django_db(transaction=True)


def project(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    names = ["projection:accounts", "projection:transfers"]
    asyncio.run(run_subscribers(names, bus.url, once=True))


def test_a_customer_lists_its_transfers_with_their_steps(
    container: Container, bus: Bus, make_user, client_for, staff_client
) -> None:
    alice, bob = client_for(make_user("alice")), client_for(make_user("bob"))
    mine, theirs = open_account(alice)["id"], open_account(bob)["id"]
    deposit(staff_client, mine, "50.00")
    sent = alice.post(
        "/api/transfers/", {"from_account": mine, "to_account": theirs, "amount": "20.00"},
        format="json",
    ).json()  # fmt: skip
    staff_client.post(f"/api/accounts/{theirs}/freeze/", {"reason": "check"}, format="json")
    refused = alice.post(
        "/api/transfers/", {"from_account": mine, "to_account": theirs, "amount": "5.00"},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 409
    project(container, bus)

    listed = alice.get(f"/api/transfers/?min_position={sent['position']}").json()
    assert listed["count"] == 2
    newest, first = listed["results"]
    assert (first["id"], first["status"], first["amount"]) == (sent["id"], "completed", "20.00")
    assert [(s["name"], s["status"]) for s in first["steps"]] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "succeeded"),
    ]
    assert (newest["status"], newest["failure_code"]) == ("compensated", "account_frozen")
    assert first["failure_code"] is None

    completed = alice.get("/api/transfers/?status=completed").json()["results"]
    assert [t["id"] for t in completed] == [sent["id"]]
    assert [t["id"] for t in bob.get("/api/transfers/").json()["results"]] == [
        newest["id"], sent["id"],
    ]  # fmt: skip
    stranger = client_for(make_user("mallory"))
    assert stranger.get("/api/transfers/").json()["count"] == 0
    assert staff_client.get(f"/api/transfers/?account={mine}").json()["count"] == 2
    oldest_first = alice.get("/api/transfers/?ordering=started_at").json()["results"]
    assert [t["id"] for t in oldest_first] == [sent["id"], newest["id"]]
    assert_error(alice.get("/api/transfers/?status=lost"), 400, "invalid")
    assert_error(alice.get("/api/transfers/?ordering=id;drop"), 400, "invalid")
