"""Forgetting a customer, as the rest of the system sees it: the stream, the ``profiles``
projection and its rebuilds, the admin and the event browser, and the ledger's accounts.

Before: the stream and the projection hold only ciphertext; staff read the profile in clear.
After: every read shows the personal fields erased (``[erased]`` on a page), rebuilt or not,
and never fails; the customer's empty account is closed and the one with money frozen, while
every balance and transfer stays exactly as it was.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import pytest
from django.test import Client

from config.container import Container
from customers.domain import PersonalData, profile_id
from customers.forgetting import forget_customer
from ledger.domain import AccountStatus
from ledger.models import RetiredCustomer
from ledger.subscribers import ForgottenCustomers
from messaging.relay import encode
from messaging.replay import replay_from_store, stored_deliveries
from messaging.runtime import relay_events, run_subscribers
from messaging.stream import stream_settings
from projections.models import ProfileSummary
from projections.projectors import ProfileProjector
from projections.rebuild import Source, rebuild
from tests.integration.conftest import Bus
from tests.support import balances, funded, read_stream

pytestmark = pytest.mark.django_db(transaction=True)
OTTOLINE = PersonalData(
    full_name="Ottoline Brackenbury-Quist",
    email="ottoline.bq.5521@example.net",
    address="4 Marram Row, Saltfleet Haven",
    phone="+44 7700 900218",
)
VALUES = [v for v in OTTOLINE.as_dict().values() if v]


@pytest.fixture
def world(container: Container, make_user: Any) -> dict[str, Any]:
    """Ottoline, with a profile, an account holding money and an empty one, and a transfer to
    Bob; Bob, with a profile of his own."""
    make_user("ottoline")
    make_user("bob")
    ledger = container.ledger
    full, empty = funded(ledger, 10_000, owner="ottoline"), funded(ledger, 0, owner="ottoline")
    bobs = funded(ledger, 0, owner="bob")
    transfer = ledger.transfer_funds(full, bobs, 2_500, reference="rent")
    container.customers.update_profile("ottoline", OTTOLINE)
    container.customers.update_profile("bob", PersonalData(full_name="Bob", email="b@example.net"))
    return {"full": full, "empty": empty, "bobs": bobs, "transfer": transfer.id}


def relay(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))


def run(bus: Bus, *subscribers: str) -> None:
    asyncio.run(run_subscribers(list(subscribers), bus.url, once=True))


def page(admin_client: Client, url: str) -> str:
    response = admin_client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_stream_and_the_projection_hold_ciphertext_only_and_forgetting_empties_it(
    container: Container, bus: Bus, world: dict[str, Any]
) -> None:
    relay(container, bus)
    run(bus, ProfileProjector.name)
    row = ProfileSummary.objects.get(customer="ottoline")
    assert row.key_id and row.full_name and row.forgotten_at is None
    stream = [m.data for m in asyncio.run(read_stream(bus.url, bus.stream))]
    assert any(row.full_name.encode() in m for m in stream)  # the name, sealed, is in there
    for value in VALUES:
        assert not any(value.encode() in m for m in stream)
        assert value not in json.dumps(list(ProfileSummary.objects.values()), default=str)

    forget_customer("ottoline")
    relay(container, bus)
    run(bus, ProfileProjector.name)
    row = ProfileSummary.objects.get(customer="ottoline")
    assert (row.key_id, row.full_name, row.email, row.address, row.phone) == (None,) * 5
    assert row.forgotten_at == container.customers.get_profile("ottoline").forgotten_at
    assert ProfileSummary.objects.get(customer="bob").full_name is not None  # only hers
    # What the relay would publish again, were its position lost: every stored event, encoded.
    customers = container.customers
    again = [
        encode(customers, n, stream_settings()).payload
        for n in customers.notifications_after(0, 100)
    ]
    assert len(again) == 5 and not any(v.encode() in p for v in VALUES for p in again)


@pytest.mark.parametrize("source", ["nats", "store"])
def test_a_rebuild_after_forgetting_holds_nothing_of_her(
    container: Container, bus: Bus, world: dict[str, Any], admin_client: Client, source: Source
) -> None:
    forget_customer("ottoline")
    relay(container, bus)
    ProfileSummary.objects.all().delete()  # the rebuild starts from the record alone
    result = rebuild("profiles", container.applications, source=source, nats_url=bus.url)
    assert result.rows == 2
    row = ProfileSummary.objects.get(customer="ottoline")
    assert (row.full_name, row.email, row.address, row.phone, row.key_id) == (None,) * 5
    assert row.forgotten_at is not None
    listed = page(admin_client, "/admin/projections/profilesummary/")
    assert "[erased]" in listed and "b@example.net" in listed  # hers erased, Bob's opened
    assert not any(value in listed for value in VALUES)


def test_a_replay_of_her_history_reads_erased_though_it_stops_short_of_the_forgetting(
    container: Container, world: dict[str, Any], admin_client: Client
) -> None:
    """Replayed up to her last update, the row holds her sealed fields: the key is gone, so
    they read as erased all the same, and the forgetting, replayed, empties them."""
    forget_customer("ottoline")
    history = list(stored_deliveries({"customers": container.customers}, ("customer.>",)))
    ProfileProjector().apply([d for d in history if d.type != "customer.forgotten"])
    row = ProfileSummary.objects.get(customer="ottoline")
    assert row.full_name is not None and row.forgotten_at is None
    change = page(admin_client, f"/admin/projections/profilesummary/{row.id}/change/")
    assert change.count("[erased]") == 4 and not any(v in change for v in VALUES)
    replay_from_store(ProfileProjector(), {"customers": container.customers})
    assert ProfileSummary.objects.get(customer="ottoline").full_name is None


def test_staff_read_her_in_clear_until_she_is_forgotten_then_erased_everywhere(
    container: Container, world: dict[str, Any], admin_client: Client
) -> None:
    replay_from_store(ProfileProjector(), {"customers": container.customers})
    row_url = f"/admin/projections/profilesummary/{profile_id('ottoline')}/change/"
    browser = f"/admin/operations/events/?context=customers&aggregate={profile_id('ottoline')}"
    before = page(admin_client, row_url) + page(admin_client, browser)
    assert all(value in before for value in VALUES)

    forget_customer("ottoline")
    replay_from_store(ProfileProjector(), {"customers": container.customers})
    for url in (row_url, browser, "/admin/projections/profilesummary/"):
        shown = page(admin_client, url)
        assert "[erased]" in shown, url
        assert not any(value in shown for value in VALUES), url
    events = admin_client.get(browser).context["events"]
    assert [e["type"] for e in events] == [
        "customer.profile_created", "customer.profile_updated", "customer.forgotten",
    ]  # fmt: skip
    assert events[1]["data"]["full_name"] == "[erased]"


def test_the_admin_forgets_through_the_same_path(
    container: Container, world: dict[str, Any], admin_client: Client
) -> None:
    replay_from_store(ProfileProjector(), {"customers": container.customers})
    response = admin_client.post(
        "/admin/projections/profilesummary/",
        {"action": "forget_selected", "_selected_action": [str(profile_id("ottoline"))]},
        follow=True,
    )
    assert b"1 of 1 forgotten" in response.content
    assert container.customers.get_profile("ottoline").forgotten


# --- The ledger ---------------------------------------------------------------------------------


def test_the_ledger_closes_her_empty_account_and_freezes_the_one_with_money_once(
    container: Container, bus: Bus, world: dict[str, Any]
) -> None:
    ledger = container.ledger
    transfer_before = ledger.get_transfer(world["transfer"])
    ledger.close_account(closed := funded(ledger, 0, owner="ottoline"))
    forget_customer("ottoline")
    relay(container, bus)
    run(bus, ForgottenCustomers.name)

    status = {name: ledger.get_account(world[name]).status for name in ("full", "empty", "bobs")}
    assert status == {
        "full": AccountStatus.FROZEN, "empty": AccountStatus.CLOSED, "bobs": AccountStatus.OPEN,
    }  # fmt: skip
    assert ledger.get_account(closed).status == AccountStatus.CLOSED
    assert balances(ledger, world["full"], world["bobs"]) == [7_500, 2_500]  # money stays
    transfer = ledger.get_transfer(world["transfer"])
    assert (transfer.status, transfer.amount, transfer.version) == (
        transfer_before.status, 2_500, transfer_before.version,
    )  # fmt: skip
    assert RetiredCustomer.objects.filter(customer="ottoline", closed=2, frozen=1).exists()
    frozen = ledger.stored_events(world["full"])[-1]
    assert type(frozen).__name__ == "Frozen" and frozen.reason == "customer forgotten"

    ledger.unfreeze_account(world["full"])  # an operator, to pay her money out
    replayed = list(stored_deliveries(container.applications, ForgottenCustomers.event_types))
    ForgottenCustomers(ledger).apply(replayed)  # a replay: nothing is frozen again
    assert ledger.get_account(world["full"]).status == AccountStatus.OPEN


def test_money_arriving_meanwhile_makes_an_account_frozen_not_closed(
    container: Container, world: dict[str, Any]
) -> None:
    """The policy decides on a fresh read of each account: here the empty account receives
    money just before it would be closed, which the version race turns into a freeze."""
    ledger = container.ledger
    original, raced = ledger.get_account, list[int]()

    def racing(account_id: UUID) -> Any:
        account = original(account_id)
        if account_id == world["empty"] and not raced:
            raced.append(account.version)
            ledger.deposit(world["empty"], 100, "just in time")  # lands after this read
        return account

    ledger.get_account = racing  # type: ignore[method-assign]
    try:
        statuses = ledger.retire_accounts_of("ottoline", "customer forgotten")
    finally:
        del ledger.get_account
    assert raced and statuses[world["empty"]] == AccountStatus.FROZEN
    assert ledger.get_account(world["empty"]).balance == 100


def test_money_pending_in_a_hold_makes_an_account_frozen_not_closed(
    container: Container, world: dict[str, Any]
) -> None:
    """Nothing posted, but a hold on its way in: the account still holds money, so it is
    frozen (it could not be closed), and the hold can still be settled by an operator."""
    ledger = container.ledger
    ledger.place_hold(world["bobs"], world["empty"], 500)
    statuses = ledger.retire_accounts_of("ottoline", "customer forgotten")
    assert statuses == {world["full"]: AccountStatus.FROZEN, world["empty"]: AccountStatus.FROZEN}
    assert ledger.get_account(world["empty"]).balance == 0
