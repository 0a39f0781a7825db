"""The Alert aggregate and the compliance application, on the in-memory store."""

from __future__ import annotations

from uuid import uuid4

import pytest

from compliance.application import ComplianceApplication
from compliance.contract import COMPLIANCE_EVENTS
from compliance.domain import (
    Alert,
    AlertAlreadyResolved,
    AlertNotFound,
    AlertStatus,
    InvalidDecision,
    alert_id,
)
from kernel.events import envelope
from tests.unit.conftest import IN_MEMORY


@pytest.fixture
def compliance() -> ComplianceApplication:
    return ComplianceApplication(env=IN_MEMORY)


def raised(compliance: ComplianceApplication, rule: str = "large_transfer") -> Alert:
    return compliance.raise_alert(uuid4(), uuid4(), 12_000_00, "EUR", rule, "12000.00 is large")


def test_an_alert_is_raised_open_with_what_the_rule_saw(compliance) -> None:
    transfer, account = uuid4(), uuid4()
    alert = compliance.raise_alert(transfer, account, 12_000_00, "EUR", "large_transfer", "why")
    assert alert.id == alert_id(transfer, "large_transfer")
    stored = compliance.get_alert(alert.id)
    assert (stored.transfer_id, stored.account, stored.amount, stored.rule, stored.reason) == (
        transfer, account, 12_000_00, "large_transfer", "why",
    )  # fmt: skip
    assert stored.status == AlertStatus.OPEN


def test_one_alert_per_transfer_and_rule_however_often_it_is_raised(compliance) -> None:
    transfer, account = uuid4(), uuid4()
    first = compliance.raise_alert(transfer, account, 12_000_00, "EUR", "large_transfer", "why")
    again = compliance.raise_alert(transfer, account, 12_000_00, "EUR", "large_transfer", "why")
    other_rule = compliance.raise_alert(transfer, account, 12_000_00, "EUR", "daily_limit", "why")
    assert again.id == first.id and again.version == 1
    assert other_rule.id != first.id
    assert compliance.max_position() == 2  # two Raised events, not three


def test_a_raised_alert_stays_as_it_was_reviewed_when_raised_again(compliance) -> None:
    alert = raised(compliance)
    compliance.resolve_alert(alert.id, "cleared", "operator", "known customer")
    again = compliance.raise_alert(
        alert.transfer_id, alert.account, alert.amount, "EUR", alert.rule, alert.reason
    )
    assert again.status == AlertStatus.CLEARED


@pytest.mark.parametrize("decision", ["cleared", "escalated"])
def test_a_reviewer_clears_or_escalates_with_a_note(compliance, decision: str) -> None:
    alert = raised(compliance)
    compliance.resolve_alert(alert.id, decision, "operator", "looked at it")
    stored = compliance.get_alert(alert.id)
    assert (stored.status, stored.resolved_by, stored.note) == (
        decision,
        "operator",
        "looked at it",
    )


def test_an_alert_is_resolved_once(compliance) -> None:
    alert = raised(compliance)
    compliance.resolve_alert(alert.id, "escalated", "operator")
    with pytest.raises(AlertAlreadyResolved) as refused:
        compliance.resolve_alert(alert.id, "cleared", "someone else")
    assert refused.value.code == "invalid_state"
    assert compliance.get_alert(alert.id).status == AlertStatus.ESCALATED


def test_a_decision_is_cleared_or_escalated_only(compliance) -> None:
    alert = raised(compliance)
    with pytest.raises(InvalidDecision) as refused:
        compliance.resolve_alert(alert.id, "ignored", "operator")
    assert refused.value.code == "invalid"
    assert compliance.get_alert(alert.id).status == AlertStatus.OPEN


def test_an_unknown_alert_is_not_found(compliance) -> None:
    with pytest.raises(AlertNotFound):
        compliance.resolve_alert(uuid4(), "cleared", "operator")


def test_the_published_events_carry_what_subscribers_act_on(compliance) -> None:
    alert = raised(compliance)
    compliance.resolve_alert(alert.id, "escalated", "operator", "case 7")
    raised_event, resolved_event = (
        envelope(e, catalogue=COMPLIANCE_EVENTS, position=None)
        for e in compliance.stored_events(alert.id)
    )
    assert raised_event["type"] == "compliance.alert.raised"
    assert raised_event["data"]["amount"] == "12000.00"
    assert raised_event["data"]["rule"] == "large_transfer"
    assert resolved_event["type"] == "compliance.alert.resolved"
    assert resolved_event["data"] == {
        "decision": "escalated",
        "account": str(alert.account),
        "resolved_by": "operator",
        "note": "case 7",
    }


def test_the_contract_names_what_api_md_promises() -> None:
    assert COMPLIANCE_EVENTS.names >= {"compliance.alert.raised", "compliance.alert.resolved"}
