"""The demo `make run` seeds: made through the use cases, complete, and made once."""

from __future__ import annotations

import asyncio
import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from compliance.domain import alert_id
from compliance.screening import TransferScreening
from config.container import Container
from messaging.runtime import relay_events, run_subscribers
from ops.demo import (
    ALICE_CURRENT,
    ALICE_SAVINGS,
    BOB_CURRENT,
    DEMO_PASSWORD,
    STAFF_USERNAME,
    demo_id,
    seed_demo,
)
from ops.run_all import banner, seed_demo_if_empty
from orders.domain import OrderStatus
from tests.integration.conftest import Bus
from tests.support import balances

pytestmark = pytest.mark.django_db(transaction=True)


def positions(container: Container) -> dict[str, int]:
    return {name: app.max_position() for name, app in container.applications.items()}


def test_the_demo_has_users_money_stock_transfers_and_orders(container: Container) -> None:
    seed_demo(container)

    for username in ("alice", "bob", STAFF_USERNAME):
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    staff = get_user_model().objects.get(username=STAFF_USERNAME)
    assert staff.is_staff and staff.is_superuser
    assert not get_user_model().objects.get(username="alice").is_staff

    # alice: 20,000.00 in, 250.00 saved, 40.00 from bob, 12,000.00 to bob, an order of 33.00
    # shipped (its hold captured); bob: 500.00 in, 40.00 to alice, an order of 12.50 confirmed
    # (held, not taken) and one of 34.90 cancelled (its hold voided).
    assert balances(container.ledger, ALICE_CURRENT, ALICE_SAVINGS, BOB_CURRENT) == [
        7_757_00, 250_00, 12_460_00,
    ]  # fmt: skip
    assert container.ledger.get_account(BOB_CURRENT).held == 12_50
    orders = container.orders
    statuses = [
        orders.get_order(demo_id(f"order:{name}")).status
        for name in ("alice-breakfast", "bob-refill", "bob-teapot")
    ]
    assert statuses == [OrderStatus.SHIPPED, OrderStatus.CONFIRMED, OrderStatus.CANCELLED]
    beans, teapot = orders.get_product("coffee-beans"), orders.get_product("teapot")
    assert (beans.on_hand, beans.available, teapot.available) == (98, 97, 10)


def test_its_large_transfer_raises_a_large_transfer_alert(container: Container, bus: Bus) -> None:
    seed_demo(container)
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers([TransferScreening.name], bus.url, once=True))

    raised = {
        n.originator_id
        for n in container.compliance.notifications_after(0, 1_000)
        if n.topic.endswith("Alert.Raised")
    }
    assert raised == {alert_id(demo_id("transfer:house"), "large_transfer")}


def test_seeding_again_creates_nothing(container: Container) -> None:
    first = seed_demo(container)
    before = positions(container), get_user_model().objects.count()

    again = seed_demo(container)

    assert again.created == [] and len(again.present) == len(first.created)
    assert (positions(container), get_user_model().objects.count()) == before


def test_a_dry_run_says_everything_and_changes_nothing(container: Container) -> None:
    said: list[str] = []
    report = seed_demo(container, dry_run=True, say=said.append)
    assert said[0] == f"would create customer alice (password {DEMO_PASSWORD!r})"
    assert len(said) == len(report.created) > 10
    assert set(positions(container).values()) == {0}
    assert not get_user_model().objects.exists()


def test_the_command_honours_verbosity(container: Container) -> None:
    quiet, chatty = io.StringIO(), io.StringIO()
    call_command("seed_demo", verbosity=0, stdout=quiet)
    call_command("seed_demo", verbosity=2, stdout=chatty)
    assert quiet.getvalue() == ""
    assert "already there: customer alice" in chatty.getvalue()
    assert "seed_demo: created 0," in chatty.getvalue()


def test_run_all_seeds_only_a_database_without_users(container: Container, make_user) -> None:
    make_user("someone-real")
    assert seed_demo_if_empty(say=print) is False
    assert set(positions(container).values()) == {0}
    assert "demo login" not in banner("127.0.0.1", 8000, demo=False)


def test_run_all_seeds_an_empty_database_and_says_how_to_log_in(container: Container) -> None:
    assert seed_demo_if_empty(say=print) is True
    assert positions(container)["ledger"] > 0
    shown = banner("127.0.0.1", 8000, demo=True)
    assert f"password {DEMO_PASSWORD}" in shown and str(ALICE_CURRENT) in shown
