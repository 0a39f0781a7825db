"""The admin as an operations console: every read model and the users and tokens listed, the
event browser, positions and lag, and "recover now" finishing sagas a crash left mid-way."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.test import Client

from config.container import Container
from kernel.correlation import correlation_scope
from messaging.handlers import names
from messaging.models import DeadLetter
from messaging.runtime import relay_events, run_subscribers
from projections.models import OrderSummary, TransferSummary
from sagas.engine import Saga
from tests.integration.conftest import Bus
from tests.support import balances, funded, posted_and_held

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTIONS = [n for n in names() if n.startswith("projection:")]
READ_MODELS = [
    "projections/accountsummary",
    "projections/ledgerentry",
    "projections/transfersummary",
    "projections/ordersummary",
    "projections/productstock",
    "projections/alertsummary",
    "projections/profilesummary",
]


class SimulatedCrash(Exception):
    pass


def crash_after(transition: str) -> Any:
    def hook(saga: Saga, done: str) -> None:
        if done == transition:
            raise SimulatedCrash(transition)

    return hook


def project(container: Container, bus: Bus, subscribers: list[str] = PROJECTIONS) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers(subscribers, bus.url, once=True))


@pytest.fixture
def shop(container: Container) -> dict[str, UUID]:
    """An account that paid for an order and sent a transfer, all committed."""
    ledger, orders = container.ledger, container.orders
    alice, bob = funded(ledger, 10_000), funded(ledger, 0, owner="bob")
    transfer = ledger.transfer_funds(alice, bob, 2_500, reference="rent")
    orders.create_product("APPLE", "apple", 150, 10)
    order = orders.place_order("alice", alice, [("APPLE", 2)])
    return {"account": alice, "transfer": transfer.id, "order": order.order_id}


CONSOLE_PAGES = [
    "/admin/",
    "/admin/operations/events/",
    "/admin/operations/positions/",
    "/admin/operations/trial-balance/",
    *(f"/admin/{m}/" for m in READ_MODELS),
]


def test_the_index_lists_the_operations_pages_users_and_tokens(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    for link in (
        "/admin/operations/events/",
        "/admin/operations/positions/",
        "/admin/operations/trial-balance/",
        "/admin/auth/user/",
        "/admin/authtoken/tokenproxy/",
        *(f"/admin/{m}/" for m in READ_MODELS),
    ):
        assert f'href="{link}"' in page, link


def test_every_read_model_renders_with_real_rows_and_stays_read_only(
    container: Container, bus: Bus, shop: dict[str, UUID], admin_client: Client
) -> None:
    project(container, bus)
    for model in READ_MODELS:
        listed = admin_client.get(f"/admin/{model}/")
        assert listed.status_code == 200, model
        assert admin_client.get(f"/admin/{model}/add/").status_code == 403, model
    transfers = admin_client.get("/admin/projections/transfersummary/").content.decode()
    assert str(shop["transfer"]) in transfers  # whole on hover, and in its row's link
    assert f"aggregate={shop['transfer']}" in transfers  # the link to its events
    transfer = admin_client.get(f"/admin/projections/transfersummary/{shop['transfer']}/change/")
    assert "credit_destination succeeded" in transfer.content.decode()  # steps: on its page
    accounts = admin_client.get("/admin/projections/accountsummary/?q=bob").content.decode()
    assert "25.00" in accounts
    searched = admin_client.get(f"/admin/projections/ordersummary/?q={shop['order']}")
    assert searched.context["cl"].result_count == 1
    running = admin_client.get("/admin/projections/transfersummary/?status=running")
    assert running.context["cl"].result_count == 0


def readonly(value: str) -> str:
    """How the admin shows ``value`` as a field of a page it lets no one change."""
    return f'<div class="readonly">{value}</div>'


def test_pages_read_like_a_banks_money_with_its_currency_steps_as_lines_ids_as_links(
    container: Container, bus: Bus, shop: dict[str, UUID], admin_client: Client
) -> None:
    project(container, bus)
    account, transfer, order = shop["account"], shop["transfer"], shop["order"]
    account_page = f'href="/admin/projections/accountsummary/{account}/change/"'

    detail = admin_client.get(f"/admin/projections/transfersummary/{transfer}/change/")
    page = detail.content.decode()
    assert detail.status_code == 200
    assert readonly("25.00\u00a0EUR") in page and readonly("2500") not in page  # never cents
    assert "debit_source succeeded<br>credit_destination succeeded" in page  # not JSON
    assert '"name"' not in page
    assert account_page in page and f"aggregate={transfer}" in page

    listed = admin_client.get("/admin/projections/transfersummary/").content.decode()
    assert "25.00\u00a0EUR" in listed and account_page in listed
    # Ids are shown short, whole on hover, so a row stays one line at 1,400 pixels.
    assert f'title="{account}">{str(account)[:8]}</a>' in listed

    detail = admin_client.get(f"/admin/projections/ordersummary/{order}/change/")
    page = detail.content.decode()
    assert readonly("3.00\u00a0EUR") in page and readonly("300") not in page
    assert "APPLE: 2 at 1.50\u00a0EUR each" in page and account_page in page

    detail = admin_client.get(f"/admin/projections/accountsummary/{account}/change/")
    page = detail.content.decode()
    assert readonly("75.00\u00a0EUR") in page  # 100.00, less the 25.00 transfer (the order's
    # 3.00 is held, not taken)
    assert f"/admin/projections/ledgerentry/?account_id={account}" in page
    entries = admin_client.get(f"/admin/projections/ledgerentry/?account_id={account}")
    assert entries.context["cl"].result_count == 3
    assert (
        f'href="/admin/projections/transfersummary/{transfer}/change/"' in entries.content.decode()
    )


def test_the_event_browsers_id_field_holds_a_whole_id(admin_client: Client) -> None:
    page = admin_client.get("/admin/operations/events/").content.decode()
    assert 'name="aggregate"' in page and 'size="40"' in page


def test_an_order_page_shows_its_sagas_steps_from_the_event_store(
    container: Container, bus: Bus, shop: dict[str, UUID], admin_client: Client
) -> None:
    project(container, bus)
    page = admin_client.get(f"/admin/projections/ordersummary/{shop['order']}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "OrderPlacement" in body and "completed" in body
    for step in ("create_order", "reserve_stock", "take_payment", "confirm_order"):
        assert f"{step} succeeded" in body


def test_recover_now_finishes_a_transfer_that_crashed_mid_way(
    container: Container, bus: Bus, admin_client: Client
) -> None:
    ledger = container.ledger
    a, b = funded(ledger, 1_000), funded(ledger, 0)
    with pytest.raises(SimulatedCrash):
        ledger.transfer_funds(a, b, 400, after_commit=crash_after("succeeded:debit_source"))
    project(container, bus)
    (stuck,) = TransferSummary.objects.filter(status="running")
    response = admin_client.post(
        "/admin/projections/transfersummary/",
        {"action": "recover_selected", "_selected_action": [str(stuck.id)]},
        follow=True,
    )
    assert f"Transfer {stuck.id}: completed" in response.content.decode()
    assert balances(ledger, a, b) == [600, 400]
    assert ledger.unfinished_transfers() == []
    project(container, bus)
    stuck.refresh_from_db()
    assert stuck.status == "completed"


def test_recover_now_finishes_an_order_whose_placement_crashed(
    container: Container, bus: Bus, admin_client: Client
) -> None:
    orders, ledger = container.orders, container.ledger
    orders.create_product("PEAR", "pear", 200, 5)
    account = funded(ledger, 1_000)
    order_id = uuid4()
    with pytest.raises(SimulatedCrash):
        orders.place_order(
            "alice", account, [("PEAR", 2)], order_id=order_id,
            after_commit=crash_after("succeeded:reserve_stock"),
        )  # fmt: skip
    project(container, bus)
    assert OrderSummary.objects.get(id=order_id).status == "pending"
    response = admin_client.post(
        "/admin/projections/ordersummary/",
        {"action": "recover_selected", "_selected_action": [str(order_id)]},
        follow=True,
    )
    assert f"Order {order_id}: OrderPlacement completed" in response.content.decode()
    assert orders.get_order(order_id).status == "confirmed"
    assert posted_and_held(ledger, account) == [(1_000, 400)]
    assert orders.unfinished_sagas() == []


def test_recover_now_reports_a_transfer_the_store_does_not_know(
    container: Container, admin_client: Client
) -> None:
    """A row with no saga behind it (a projection out of step with its store) is reported."""
    ghost = TransferSummary.objects.create(
        id=uuid4(), from_account=uuid4(), to_account=uuid4(), amount=1, currency="EUR",
        status="running", version=1, started_at="2026-01-01T00:00Z", updated_at="2026-01-01T00:00Z",
    )  # fmt: skip
    response = admin_client.post(
        "/admin/projections/transfersummary/",
        {"action": "recover_selected", "_selected_action": [str(ghost.id)]},
        follow=True,
    )
    assert f"Transfer {ghost.id}: Transfer {ghost.id} not found." in response.content.decode()


def test_the_event_browser_shows_an_aggregates_events_in_order(
    container: Container, admin_client: Client
) -> None:
    ledger = container.ledger
    with correlation_scope("open-1", causation_id="cmd-1"):
        account = ledger.open_account("alice", "EUR").id
    with correlation_scope("deposit-2", causation_id="cmd-2"):
        ledger.deposit(account, 1_250, "salary")
    page = admin_client.get(f"/admin/operations/events/?context=ledger&aggregate={account}")
    assert page.status_code == 200
    events = page.context["events"]
    assert [(e["aggregate_version"], e["type"]) for e in events] == [
        (1, "account.opened"),
        (2, "account.credited"),
    ]
    assert [(e["correlation_id"], e["causation_id"]) for e in events] == [
        ("open-1", "cmd-1"),
        ("deposit-2", "cmd-2"),
    ]
    body = page.content.decode()
    assert "deposit-2" in body and "&quot;amount&quot;: &quot;12.50&quot;" in body
    assert events[0]["timestamp"] in body


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        (f"context=ledger&aggregate={uuid4()}", 404, "No events of"),
        ("context=ledger&aggregate=not-a-uuid", 400, "Enter a valid UUID."),
        (f"context=payroll&aggregate={uuid4()}", 400, "Select a valid choice."),
    ],
)
def test_the_event_browser_says_what_is_wrong_with_a_query(
    container: Container, admin_client: Client, query: str, status: int, message: str
) -> None:
    page = admin_client.get(f"/admin/operations/events/?{query}")
    assert page.status_code == status and message in page.content.decode()


def test_the_event_browser_finds_a_wrong_context_empty(
    container: Container, shop: dict[str, UUID], admin_client: Client
) -> None:
    page = admin_client.get(f"/admin/operations/events/?context=orders&aggregate={shop['account']}")
    assert page.status_code == 404


def test_the_positions_page_shows_each_relay_and_subscriber_lag(
    container: Container, bus: Bus, shop: dict[str, UUID], admin_client: Client
) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    DeadLetter.objects.create(
        subscriber="projection:orders", subject="x", stream_sequence=1, payload="{}", error="boom"
    )
    heads = {s: app.max_position() for s, app in container.applications.items()}
    page = admin_client.get("/admin/operations/positions/")
    assert page.status_code == 200
    assert {(r.source, r.head, r.lag) for r in page.context["relays"]} == {
        (source, head, 0) for source, head in heads.items()
    }
    lags = {(s.subscriber, s.source): s.lag for s in page.context["subscribers"]}
    assert lags[("projection:accounts", "ledger")] == heads["ledger"]
    assert lags[("projection:orders", "orders")] == heads["orders"]
    assert ("projection:accounts", "orders") not in lags  # it consumes only account events
    assert page.context["dead_letters"] == [("projection:orders", 1)]
    assert "resolved_at__isempty=1" in page.content.decode()

    asyncio.run(run_subscribers(["projection:accounts"], bus.url, once=True))
    page = admin_client.get("/admin/operations/positions/")
    lags = {(s.subscriber, s.source): s.lag for s in page.context["subscribers"]}
    assert lags[("projection:accounts", "ledger")] == 0
    assert lags[("projection:orders", "orders")] == heads["orders"]


def test_the_positions_page_names_an_event_store_that_is_down_and_shows_the_rest(
    orders_store_down: Container, admin_client: Client
) -> None:
    page = admin_client.get("/admin/operations/positions/")
    assert page.status_code == 200
    assert [source for source, _ in page.context["down"]] == ["orders"]
    assert "The orders event store is down" in page.content.decode()
    assert {r.source for r in page.context["relays"]} == {"ledger", "compliance", "customers"}


def test_an_unrelayed_source_shows_its_whole_log_as_relay_lag(
    container: Container, shop: dict[str, UUID], admin_client: Client
) -> None:
    page = admin_client.get("/admin/operations/positions/")
    relays = {r.source: (r.lag, r.updated_at) for r in page.context["relays"]}
    assert relays["ledger"] == (container.ledger.max_position(), None)


@pytest.mark.parametrize("page", CONSOLE_PAGES)
def test_customers_and_anonymous_users_are_sent_to_the_login(
    container: Container, make_user: Any, page: str
) -> None:
    customer = Client()
    customer.force_login(make_user("alice"))
    for client in (customer, Client()):
        response = client.get(page)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_customers_cannot_run_recover_now(
    container: Container, make_user: Any, shop: dict[str, UUID]
) -> None:
    customer = Client()
    customer.force_login(make_user("mallory"))
    response = customer.post(
        "/admin/projections/transfersummary/",
        {"action": "recover_selected", "_selected_action": [str(shop["transfer"])]},
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_trial_balance_shows_who_holds_the_money_and_a_sum_of_zero(
    container: Container, bus: Bus, shop: dict[str, UUID], admin_client: Client
) -> None:
    """The shop's money: alice's deposit (from the cash account), a transfer to bob, an order
    whose payment is held for the merchant account; in EUR it sums to zero."""
    container.ledger.place_hold(shop["account"], funded(container.ledger, 0, owner="bob"), 500)
    project(container, bus)
    page = admin_client.get("/admin/operations/trial-balance/")
    assert page.status_code == 200
    (eur,) = page.context["balances"]
    rows = dict(eur["rows"])
    assert rows["customers' accounts"] == "100.00\u00a0EUR"
    assert rows["system:merchant"] == "0.00\u00a0EUR"  # two apples ordered: held, not taken
    assert rows["system:cash"] == "-100.00\u00a0EUR"
    assert rows["sum"] == "0.00\u00a0EUR"
    assert (eur["held"], eur["incoming"]) == ("8.00\u00a0EUR", "8.00\u00a0EUR")  # and the order's
    assert 'id="trial-balance-EUR"' in page.content.decode()
