"""``audit_ledger``: the books balance after everything a ledger does, and every way they could
fail to is named — money made from nothing, a hold ended twice, a projection that disagrees or
lags behind the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from django.core.management import CommandError, call_command

from config.container import Container
from ledger.domain import EntryKind
from messaging.runtime import relay_events, run_subscribers
from ops.audit import audit
from projections.models import AccountSummary
from tests.integration.conftest import Bus
from tests.support import funded

pytestmark = pytest.mark.django_db(transaction=True)
PROJECTIONS = ["projection:accounts", "projection:transactions"]


def project(container: Container, bus: Bus) -> None:
    """Relay everything and let the accounts and transactions projections apply it."""
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers(PROJECTIONS, bus.url, once=True))


def busy_ledger(container: Container) -> None:
    ledger = container.ledger
    a, b = funded(ledger, 100_000), funded(ledger, 5_000)
    dollars = funded(ledger, 7_000, currency="USD")
    ledger.withdraw(a, 1_000, "atm")
    ledger.transfer_funds(a, b, 2_500)
    ledger.transfer_funds(b, a, 999_999)  # failed: nothing moves
    captured = ledger.place_hold(a, b, 4_000)
    ledger.capture_hold(captured.id, 1_500)
    ledger.void_hold(ledger.place_hold(b, a, 500).id)
    now = datetime.now(UTC)
    ledger.place_hold(a, b, 300, expires_in=60, now=now)
    ledger.expire_holds(now=now + timedelta(seconds=61))
    ledger.place_hold(a, b, 700)  # still pending
    ledger.withdraw(dollars, 7_000, "all of it")


def run_audit() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_ledger", stdout=out)
    return out.getvalue()


def test_the_books_of_a_busy_ledger_balance(container: Container, bus: Bus) -> None:
    busy_ledger(container)
    project(container, bus)
    output = run_audit()
    assert output.rstrip().endswith("the books balance")
    assert "EUR" in output and "USD" in output and "system:cash" in output
    (eur, usd) = audit(container.ledger).balances
    assert (eur.currency, eur.posted, eur.held, eur.incoming) == ("EUR", 0, 700, 700)
    assert (usd.currency, usd.customers, usd.posted) == ("USD", 0, 0)


def test_money_made_from_nothing_is_named(container: Container, bus: Bus) -> None:
    busy_ledger(container)
    account = container.ledger.get_account(funded(container.ledger, 0))
    account.credit(4_200, EntryKind.TRANSFER, "from nowhere", uuid4())  # one leg, no other
    container.ledger.save(account)
    project(container, bus)
    with pytest.raises(CommandError, match=r"EUR: posted balances sum to 42\.00, not 0\.00"):
        run_audit()


def test_a_hold_ended_twice_is_named(container: Container, bus: Bus) -> None:
    ledger = container.ledger
    hold = ledger.capture_hold(ledger.place_hold(funded(ledger, 1_000), funded(ledger, 0), 100).id)
    hold.trigger_event(type(hold).Voided, **hold.facts())  # past the aggregate's own guard
    ledger.save(hold)
    project(container, bus)
    with pytest.raises(CommandError, match=rf"hold {hold.id}: Placed, Captured, Voided"):
        run_audit()


def test_a_projection_that_disagrees_is_named_and_one_behind_is_said_to_be(
    container: Container, bus: Bus
) -> None:
    busy_ledger(container)
    project(container, bus)
    assert audit(container.ledger).balanced
    row = AccountSummary.objects.filter(owner="alice").first()
    assert row is not None
    AccountSummary.objects.filter(id=row.id).update(balance=row.balance + 1)
    assert audit(container.ledger).discrepancies == [
        f"account {row.id}: the accounts projection disagrees with its events"
    ]
    funded(container.ledger, 10)  # stored, not yet projected
    (behind,) = audit(container.ledger).discrepancies
    assert "the accounts projection has applied the ledger up to" in behind
    assert "audit again once it has caught up" in behind
