"""Compliance through the real path — ledger store, relay, stream, screening subscriber,
compliance store, relay again, the ledger's subscriber — each alert raised once, however often
its transfer is delivered, and an escalation freezing the account."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from compliance.domain import AlertStatus, alert_id
from compliance.models import ScreenedTransfer
from compliance.screening import TransferScreening
from config.container import Container
from ledger.domain import AccountFrozen, AccountStatus
from ledger.models import AppliedEscalation
from ledger.subscribers import ComplianceDecisions
from messaging.models import DeadLetter, SubscriberPosition
from messaging.replay import replay_from_store
from messaging.runtime import relay_events, run_subscribers
from tests.integration.conftest import Bus
from tests.support import funded

pytestmark = pytest.mark.django_db(transaction=True)
SCREENING, DECISIONS = TransferScreening.name, ComplianceDecisions.name


def relay(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))


def consume(bus: Bus, *names: str, from_sequence: int | None = None) -> Any:
    return asyncio.run(
        run_subscribers(list(names), bus.url, once=True, from_sequence=from_sequence)
    )


def screen(container: Container, bus: Bus) -> None:
    """Publish what the ledger stored, and let the compliance subscriber screen it."""
    relay(container, bus)
    consume(bus, SCREENING)


def decide(container: Container, bus: Bus) -> None:
    """Publish the compliance store's decisions, and let the ledger act on them."""
    relay(container, bus)
    consume(bus, DECISIONS)


def raised_alerts(container: Container) -> list[UUID]:
    """The ids of every alert.raised event in the compliance store, duplicates included."""
    compliance = container.compliance
    return [
        UUID(str(n.originator_id))
        for n in compliance.notifications_after(0, 100_000)
        if n.topic.endswith("Alert.Raised")
    ]


def transfer(container: Container, source: UUID, cents: int) -> UUID:
    destination = container.ledger.open_account("bob", "EUR").id
    done = container.ledger.transfer_funds(source, destination, cents)
    assert done.status == "completed"
    return done.id


def test_a_large_transfer_raises_one_large_transfer_alert(container: Container, bus: Bus) -> None:
    source = funded(container.ledger, 20_000_00)
    transfer_id = transfer(container, source, 12_000_00)
    transfer(container, source, 50_00)  # small: nothing to see
    screen(container, bus)

    (raised,) = raised_alerts(container)
    assert raised == alert_id(transfer_id, "large_transfer")
    alert = container.compliance.get_alert(raised)
    assert (alert.account, alert.amount, alert.rule, alert.status) == (
        source, 12_000_00, "large_transfer", AlertStatus.OPEN,
    )  # fmt: skip
    assert ScreenedTransfer.objects.filter(account=source).count() == 2


def test_the_alert_carries_the_transfers_correlation(container: Container, bus: Bus) -> None:
    source = funded(container.ledger, 20_000_00)
    transfer_id = transfer(container, source, 12_000_00)
    screen(container, bus)
    completed = container.ledger.stored_events(transfer_id)[-1]
    (raised,) = container.compliance.stored_events(alert_id(transfer_id, "large_transfer"))
    assert raised._meta["correlation_id"] == completed._meta["correlation_id"]


def test_a_replay_of_the_stream_raises_no_second_alert(container: Container, bus: Bus) -> None:
    source = funded(container.ledger, 20_000_00)
    transfer(container, source, 12_000_00)
    screen(container, bus)
    before = raised_alerts(container), ScreenedTransfer.objects.count()

    consume(bus, SCREENING, from_sequence=1)  # every transfer.completed delivered again
    # and again, from the store
    replay_from_store(TransferScreening(container.compliance), container.applications)

    assert (raised_alerts(container), ScreenedTransfer.objects.count()) == before
    assert len(before[0]) == 1


class SimulatedCrash(BaseException):
    """Not an Exception: the runtime does not retry it; the process "dies" with it."""


def test_a_crash_after_storing_an_alert_and_before_the_commit_raises_it_once(
    container: Container, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = funded(container.ledger, 40_000_00)
    first = transfer(container, source, 12_000_00)
    second = transfer(container, source, 9_500_00)  # over the daily limit with the first
    relay(container, bus)

    screen_then_die = TransferScreening.apply

    def apply_then_crash(self: TransferScreening, deliveries: Any) -> None:
        screen_then_die(self, deliveries)  # alerts stored in the compliance store ...
        raise SimulatedCrash  # ... and the position, with the history, never committed

    monkeypatch.setattr(TransferScreening, "apply", apply_then_crash)
    with pytest.raises(BaseExceptionGroup) as crashed:
        consume(bus, SCREENING)
    assert crashed.group_contains(SimulatedCrash)
    assert len(raised_alerts(container)) == 2  # the alerts made it out before the crash
    assert not ScreenedTransfer.objects.exists()
    assert not SubscriberPosition.objects.filter(name=SCREENING, stream_sequence__gt=0).exists()

    monkeypatch.setattr(TransferScreening, "apply", screen_then_die)
    consume(bus, SCREENING)  # the restart: the same transfers, delivered again

    assert sorted(raised_alerts(container)) == sorted(
        [alert_id(first, "large_transfer"), alert_id(second, "daily_limit")]
    )
    assert ScreenedTransfer.objects.count() == 2
    assert not DeadLetter.objects.exists()


def test_history_within_one_batch_counts_towards_velocity(container: Container, bus: Bus) -> None:
    """Five quick transfers arrive in one batch: the fifth is screened with the four before it."""
    source = funded(container.ledger, 1_000_00)
    transfers = [transfer(container, source, 1_00) for _ in range(6)]
    screen(container, bus)
    assert sorted(raised_alerts(container)) == sorted(
        alert_id(t, "velocity") for t in transfers[4:]
    )


def test_history_from_earlier_batches_counts_too(container: Container, bus: Bus) -> None:
    source = funded(container.ledger, 40_000_00)
    transfer(container, source, 9_100_00)
    transfer(container, source, 9_200_00)
    screen(container, bus)
    third = transfer(container, source, 9_300_00)
    screen(container, bus)
    assert alert_id(third, "structuring") in raised_alerts(container)


# --- The ledger's side: an escalation freezes the account -------------------------------------


def escalate(container: Container, bus: Bus, source: UUID, *, note: str = "case 1") -> UUID:
    transfer_id = transfer(container, source, 12_000_00)
    screen(container, bus)
    alert = alert_id(transfer_id, "large_transfer")
    container.compliance.resolve_alert(alert, "escalated", "operator", note)
    return alert


def test_an_escalated_alert_freezes_the_account_and_its_next_transfer_is_refused(
    container: Container, bus: Bus
) -> None:
    source = funded(container.ledger, 20_000_00)
    alert = escalate(container, bus, source)
    decide(container, bus)

    account = container.ledger.get_account(source)
    assert account.status == AccountStatus.FROZEN
    assert AppliedEscalation.objects.get(alert_id=alert).outcome == "frozen"
    frozen_event = container.ledger.stored_events(source)[-1]
    assert str(alert) in frozen_event.reason and "case 1" in frozen_event.reason
    refused = container.ledger.transfer_funds(
        source, container.ledger.open_account("c", "EUR").id, 1
    )
    assert refused.failure_code == AccountFrozen.code


def test_a_cleared_alert_changes_nothing(container: Container, bus: Bus) -> None:
    source = funded(container.ledger, 20_000_00)
    transfer_id = transfer(container, source, 12_000_00)
    screen(container, bus)
    container.compliance.resolve_alert(alert_id(transfer_id, "large_transfer"), "cleared", "op")
    decide(container, bus)
    assert container.ledger.get_account(source).status == AccountStatus.OPEN
    assert not AppliedEscalation.objects.exists()


def test_a_replayed_escalation_does_not_freeze_an_account_staff_unfroze(
    container: Container, bus: Bus
) -> None:
    source = funded(container.ledger, 20_000_00)
    escalate(container, bus, source)
    decide(container, bus)
    container.ledger.unfreeze_account(source)

    consume(bus, DECISIONS, from_sequence=1)

    assert container.ledger.get_account(source).status == AccountStatus.OPEN


def test_escalations_of_a_frozen_or_closed_account_are_recorded_not_parked(
    container: Container, bus: Bus
) -> None:
    frozen = funded(container.ledger, 20_000_00)
    container.ledger.freeze_account(frozen, "already under review")
    container.ledger.unfreeze_account(frozen)  # open for the transfer, frozen again below
    first = escalate(container, bus, frozen, note="first")
    container.ledger.freeze_account(frozen, "already under review")

    closing = funded(container.ledger, 12_000_00)
    second = escalate(container, bus, closing, note="second")
    container.ledger.close_account(closing)  # emptied by the transfer

    frozen_version = container.ledger.get_account(frozen).version
    decide(container, bus)

    assert not DeadLetter.objects.exists()
    outcomes = dict(AppliedEscalation.objects.values_list("alert_id", "outcome"))
    assert outcomes == {first: "already_frozen", second: "closed"}
    assert container.ledger.get_account(frozen).version == frozen_version
    assert container.ledger.get_account(closing).status == AccountStatus.CLOSED


def test_a_captured_hold_is_screened_by_what_it_captured(container: Container, bus: Bus) -> None:
    """Money that moved by a hold is screened as money that moved by a transfer: what was
    captured counts, not what was held."""
    ledger = container.ledger
    payer, payee = funded(ledger, 5_000_000), funded(ledger, 0)
    large = ledger.place_hold(payer, payee, 2_000_000)
    small = ledger.place_hold(payer, payee, 2_000_000)
    ledger.capture_hold(large.id, 1_200_000)  # 12,000.00: over the large_transfer threshold
    ledger.capture_hold(small.id, 100_000)  # 1,000.00 of 20,000.00 held: under it (and the
    # day's 13,000.00 under the daily limit)
    ledger.void_hold(ledger.place_hold(payer, payee, 1_500_000).id)  # nothing moved
    screen(container, bus)
    assert raised_alerts(container) == [alert_id(large.id, "large_transfer")]
    screened = ScreenedTransfer.objects.get(transfer_id=large.id)
    assert (screened.account, screened.amount) == (payer, 1_200_000)
    assert ScreenedTransfer.objects.count() == 2
