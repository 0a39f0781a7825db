"""The alerts projection, the compliance endpoints and the admin's review actions."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest
from django.test import Client
from rest_framework.test import APIClient

from compliance.domain import Alert, AlertStatus
from config.container import Container
from ledger.domain import AccountStatus
from messaging.replay import replay_from_store, stored_deliveries
from messaging.runtime import relay_events, run_subscribers
from messaging.subscriber import Delivery
from projections.models import AccountSummary, AlertSummary
from projections.projectors import AccountSummaryProjector, AlertProjector
from tests.integration.conftest import Bus
from tests.integration.test_ledger_api import assert_error

pytestmark = pytest.mark.django_db
ALERTS = "/api/compliance/alerts/"


def raise_alert(
    container: Container,
    rule: str = "large_transfer",
    *,
    account: UUID | None = None,
    amount: int = 12_000_00,
) -> Alert:
    return container.compliance.raise_alert(
        uuid4(), account or uuid4(), amount, "EUR", rule, f"{rule}: why"
    )


def alert_deliveries(container: Container) -> list[Delivery]:
    """The compliance store's alert events, as the stream would deliver them."""
    return list(stored_deliveries({"compliance": container.compliance}, ("compliance.alert.>",)))


def project_alerts(container: Container) -> None:
    replay_from_store(AlertProjector(), {"compliance": container.compliance})


# --- The projector ----------------------------------------------------------------------------


def test_the_projector_shows_a_raised_alert_as_open(container: Container) -> None:
    alert = raise_alert(container)
    AlertProjector().apply(alert_deliveries(container))
    row = AlertSummary.objects.get()
    assert (row.id, row.transfer_id, row.account, row.amount, row.rule, row.status) == (
        alert.id, alert.transfer_id, alert.account, 12_000_00, "large_transfer", "open",
    )  # fmt: skip
    assert (row.reason, row.raised_at, row.resolved_at, row.version) == (
        "large_transfer: why", alert.created_on, None, 1,
    )  # fmt: skip


def test_raised_and_resolved_in_one_batch_or_in_two(container: Container) -> None:
    together, apart = raise_alert(container), raise_alert(container, "velocity")
    AlertProjector().apply(alert_deliveries(container))
    container.compliance.resolve_alert(together.id, "escalated", "operator", "case 9")
    container.compliance.resolve_alert(apart.id, "cleared", "operator")
    AlertProjector().apply(alert_deliveries(container)[2:])

    rows = AlertSummary.objects.in_bulk()
    escalated = rows[together.id]
    assert (escalated.status, escalated.resolved_by, escalated.note, escalated.version) == (
        "escalated", "operator", "case 9", 2,
    )  # fmt: skip
    assert escalated.resolved_at == container.compliance.get_alert(together.id).modified_on
    assert rows[apart.id].status == "cleared"

    AlertSummary.objects.all().delete()
    AlertProjector().apply(alert_deliveries(container))  # a rebuild: both events in one batch
    assert {r.id: r.status for r in AlertSummary.objects.all()} == {
        together.id: "escalated",
        apart.id: "cleared",
    }


def test_a_replay_or_an_older_event_changes_nothing(container: Container) -> None:
    alert = raise_alert(container)
    container.compliance.resolve_alert(alert.id, "cleared", "operator", "fine")
    raised, resolved = alert_deliveries(container)
    AlertProjector().apply([raised, resolved])
    before = list(AlertSummary.objects.values())

    AlertProjector().apply([raised])  # older than the row
    AlertProjector().apply([resolved])  # as old as the row
    AlertProjector().apply([raised, resolved])
    assert list(AlertSummary.objects.values()) == before


def test_a_resolution_whose_raising_was_never_seen_is_skipped(container: Container) -> None:
    alert = raise_alert(container)
    container.compliance.resolve_alert(alert.id, "cleared", "operator")
    AlertProjector().apply(alert_deliveries(container)[1:])
    assert not AlertSummary.objects.exists()


# --- The endpoints ----------------------------------------------------------------------------


@pytest.fixture
def customer(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


def test_alerts_are_for_staff_only(container: Container, customer: APIClient) -> None:
    alert = raise_alert(container)
    assert_error(customer.get(ALERTS), 403, "permission_denied")
    refused = customer.post(f"{ALERTS}{alert.id}/resolve/", {"decision": "cleared"}, format="json")
    assert_error(refused, 403, "permission_denied")
    assert container.compliance.get_alert(alert.id).status == AlertStatus.OPEN
    assert_error(APIClient().get(ALERTS), 401, "not_authenticated")


def test_the_list_shows_api_md_fields_and_filters(container: Container, staff_client) -> None:
    mine = uuid4()
    large = raise_alert(container, account=mine)
    velocity = raise_alert(container, "velocity", account=mine)
    other = raise_alert(container, "daily_limit")
    container.compliance.resolve_alert(velocity.id, "cleared", "operator")
    project_alerts(container)

    listed = staff_client.get(ALERTS).json()
    assert listed["count"] == 3
    first = next(a for a in listed["results"] if a["id"] == str(large.id))
    assert {
        "id", "transfer_id", "account", "amount", "rule", "reason", "status", "raised_at",
    } <= set(first)  # fmt: skip
    assert (first["amount"], first["status"], first["account"]) == ("12000.00", "open", str(mine))

    def ids(query: str) -> set[str]:
        response = staff_client.get(f"{ALERTS}?{query}")
        assert response.status_code == 200, response.json()
        return {a["id"] for a in response.json()["results"]}

    assert ids("status=open") == {str(large.id), str(other.id)}
    assert ids("rule=velocity") == {str(velocity.id)}
    assert ids(f"account={mine}") == {str(large.id), str(velocity.id)}
    assert ids(f"account={mine}&status=cleared") == {str(velocity.id)}
    assert ids("page_size=1") < ids("")
    assert_error(staff_client.get(f"{ALERTS}?status=sleeping"), 400, "invalid")
    assert_error(staff_client.get(f"{ALERTS}?rule=vibes"), 400, "invalid")
    assert_error(staff_client.get(f"{ALERTS}?account=nobody"), 400, "invalid")


def test_a_reviewer_escalates_once(container: Container, staff_client) -> None:
    alert = raise_alert(container)
    url = f"{ALERTS}{alert.id}/resolve/"
    response = staff_client.post(url, {"decision": "escalated", "note": "case 3"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["resolved_by"], body["note"]) == (
        str(alert.id), "escalated", "operator", "case 3",
    )  # fmt: skip
    assert body["position"] == container.compliance.max_position()

    again = staff_client.post(url, {"decision": "cleared"}, format="json")
    assert_error(again, 409, "invalid_state")
    assert container.compliance.get_alert(alert.id).status == AlertStatus.ESCALATED


def test_bad_decisions_and_unknown_alerts(container: Container, staff_client) -> None:
    alert = raise_alert(container)
    url = f"{ALERTS}{alert.id}/resolve/"
    assert_error(staff_client.post(url, {"decision": "ignore"}, format="json"), 400, "invalid")
    assert_error(staff_client.post(url, {}, format="json"), 400, "invalid")
    extra = {"decision": "cleared", "status": "cleared"}
    assert_error(staff_client.post(url, extra, format="json"), 400, "invalid")
    unknown = f"{ALERTS}{uuid4()}/resolve/"
    assert_error(
        staff_client.post(unknown, {"decision": "cleared"}, format="json"), 404, "not_found"
    )
    assert container.compliance.get_alert(alert.id).status == AlertStatus.OPEN


@pytest.mark.django_db(transaction=True)
def test_min_position_reads_the_decision_back(container: Container, bus: Bus, staff_client) -> None:
    alert = raise_alert(container)
    resolved = staff_client.post(
        f"{ALERTS}{alert.id}/resolve/", {"decision": "cleared"}, format="json"
    ).json()
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers([AlertProjector.name], bus.url, once=True))
    listed = staff_client.get(f"{ALERTS}?min_position={resolved['position']}").json()
    assert [(a["id"], a["status"]) for a in listed["results"]] == [(str(alert.id), "cleared")]


# --- The admin --------------------------------------------------------------------------------


def test_the_admin_escalates_and_clears_through_the_aggregate(
    container: Container, admin_client: Client
) -> None:
    escalate, clear = raise_alert(container), raise_alert(container, "velocity")
    project_alerts(container)
    page = admin_client.get("/admin/projections/alertsummary/")
    assert page.status_code == 200 and b"velocity" in page.content

    def act(action: str, alert: Alert, note: str) -> bytes:
        selected = {"action": action, "_selected_action": [str(alert.id)], "note": note}
        response = admin_client.post("/admin/projections/alertsummary/", selected, follow=True)
        assert response.status_code == 200
        return response.content

    assert b"1 of 1 escalated" in act("escalate_selected", escalate, "case 4")
    assert b"1 of 1 cleared" in act("clear_selected", clear, "")
    stored = container.compliance.get_alert(escalate.id)
    assert (stored.status, stored.resolved_by, stored.note) == ("escalated", "operator", "case 4")
    assert container.compliance.get_alert(clear.id).status == AlertStatus.CLEARED
    assert AlertSummary.objects.get(id=escalate.id).status == "open"  # until the projector runs

    assert b"already escalated" in act("clear_selected", escalate, "changed my mind")
    assert container.compliance.get_alert(escalate.id).status == AlertStatus.ESCALATED


def test_the_admin_alert_list_cannot_edit_or_delete(admin_client: Client, container) -> None:
    alert = raise_alert(container)
    project_alerts(container)
    assert (
        admin_client.get(f"/admin/projections/alertsummary/{alert.id}/delete/").status_code == 403
    )
    assert admin_client.get("/admin/projections/alertsummary/add/").status_code == 403


def test_the_admin_unfreezes_accounts_through_the_ledger(
    container: Container, admin_client: Client
) -> None:
    frozen = container.ledger.open_account("alice", "EUR").id
    container.ledger.freeze_account(frozen, "compliance")
    already_open = container.ledger.open_account("bob", "EUR").id
    replay_from_store(AccountSummaryProjector(), {"ledger": container.ledger})
    assert AccountSummary.objects.get(id=frozen).status == "frozen"

    response = admin_client.post(
        "/admin/projections/accountsummary/",
        {"action": "unfreeze_selected", "_selected_action": [str(frozen), str(already_open)]},
        follow=True,
    )
    assert b"1 of 2 unfrozen" in response.content and b"is not frozen" in response.content
    assert container.ledger.get_account(frozen).status == AccountStatus.OPEN
