"""The compliance choreography on the running system: a large transfer raises an alert within
seconds, a reviewer escalates it, the ledger freezes the account, and its next transfer is
refused — every hop through the event stores and NATS, none by a direct call."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Answer
from tests.support import wait_for

pytestmark = pytest.mark.slow


def test_a_large_transfer_is_flagged_escalated_and_the_account_frozen(start_system) -> None:
    system = start_system()
    alice = system.customer_token("alice", "wonderland-42")
    operator = system.operator_token()
    checking, savings = system.funded_accounts(alice, operator, "20000.00")

    def send(amount: str) -> Answer:
        body = {"from_account": checking, "to_account": savings, "amount": amount}
        return system.post("/api/transfers/", body, token=alice)

    large = send("12000.00")
    assert large.status == 201, large.body

    def flagged() -> list:
        listed = system.get(f"/api/compliance/alerts/?account={checking}", token=operator)
        assert listed.status == 200, listed.body
        return listed.body["results"]

    (alert,) = wait_for(flagged, timeout=30, what="the large_transfer alert")
    assert (alert["rule"], alert["amount"], alert["status"], alert["transfer_id"]) == (
        "large_transfer", "12000.00", "open", large.body["id"],
    )  # fmt: skip
    assert system.get("/api/compliance/alerts/", token=alice).status == 403

    decision = system.post(
        f"/api/compliance/alerts/{alert['id']}/resolve/",
        {"decision": "escalated", "note": "source of funds unclear"},
        token=operator,
    )
    assert decision.status == 200 and decision.body["status"] == "escalated", decision.body

    def frozen() -> bool:
        account = system.get(f"/api/accounts/{checking}/", token=alice)
        assert account.status in (200, 503), account.body  # 503: the database was busy; retry
        return account.status == 200 and account.body["status"] == "frozen"

    wait_for(frozen, timeout=30, what="the ledger to freeze the account")

    refused = send("1.00")
    assert refused.status == 409 and refused.body["code"] == "account_frozen", refused.body
    again = system.post(
        f"/api/compliance/alerts/{alert['id']}/resolve/", {"decision": "cleared"}, token=operator
    )
    assert again.status == 409 and again.body["code"] == "invalid_state"
    reviewed = system.get(
        f"/api/compliance/alerts/?status=escalated&min_position={decision.body['position']}",
        token=operator,
    )
    assert [a["id"] for a in reviewed.body["results"]] == [alert["id"]], reviewed.body

    assert system.post(f"/api/accounts/{checking}/unfreeze/", token=operator).status == 200
    assert send("1.00").status == 201
