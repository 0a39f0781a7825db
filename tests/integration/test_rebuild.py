"""Rebuilding projections: the same rows as the live projection, from the stream or the stores;
``--since`` fills in over existing rows; readers never see a half-built table; a projector
killed mid-batch again and again leaves exact rows."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
import typing
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.db import connection
from django.db.models import Model
from rest_framework.test import APIClient

from config.container import Container
from messaging.connection import connect
from messaging.models import SubscriberPosition
from messaging.runtime import relay_events, run_subscribers
from projections.models import AccountSummary, LedgerEntry, TransferSummary
from projections.projectors import PROJECTORS
from projections.rebuild import RebuildError, Source, rebuild, shadow_model
from tests.integration.conftest import Bus, Commands
from tests.integration.test_accounts_projection import (
    assert_projection_equals_the_store,
    assert_transfers_equal_the_store,
)
from tests.integration.test_transactions_projection import entries_in_store, entries_projected
from tests.support import funded, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
LEDGER_PROJECTIONS: dict[str, type[Model]] = {
    "accounts": AccountSummary,
    "transactions": LedgerEntry,
    "transfers": TransferSummary,
}


def relay(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))


def project(container: Container, bus: Bus) -> None:
    relay(container, bus)
    names = [f"projection:{name}" for name in LEDGER_PROJECTIONS]
    asyncio.run(run_subscribers(names, bus.url, once=True))


def rows(model: type[Model]) -> list[tuple[Any, ...]]:
    """Every row's content, without serial keys (a rebuild assigns new ones)."""
    fields = [
        f.name
        for f in model._meta.local_fields
        if not (f.primary_key and f.get_internal_type() == "BigAutoField")
    ]
    return sorted(model._default_manager.values_list(*fields), key=repr)


def workload(container: Container, accounts: int = 6, rounds: int = 4) -> list[UUID]:
    ledger = container.ledger
    ids = [funded(ledger, 10_000, owner=f"c{i}") for i in range(accounts)]
    rng = random.Random(24)
    for n in range(rounds * accounts):
        a, b = rng.sample(ids, 2)
        ledger.transfer_funds(a, b, rng.randint(1, 6_000), reference=f"r{n}")
        if n % 7 == 0:
            ledger.withdraw(a, 1, f"w{n}")
    ledger.freeze_account(ids[0], "review")
    ledger.transfer_funds(ids[1], ids[0], 100)  # refused by the frozen account: compensated
    return ids


def more_entries_than(count: int) -> bool:
    return LedgerEntry.objects.count() > count


def damage() -> None:
    """What a buggy projector might leave: lost rows, wrong values."""
    AccountSummary.objects.filter(pk__in=AccountSummary.objects.values("pk")[:2]).delete()
    AccountSummary.objects.update(balance=0)
    LedgerEntry.objects.filter(kind="transfer").delete()
    TransferSummary.objects.update(status="running", steps=[])


@pytest.mark.parametrize("source", ["nats", "store"])
def test_a_rebuild_gives_the_rows_of_the_live_projection(
    container: Container, bus: Bus, source: Source
) -> None:
    workload(container)
    project(container, bus)
    expected = {name: rows(model) for name, model in LEDGER_PROJECTIONS.items()}
    assert all(expected.values())
    damage()
    for name, model in LEDGER_PROJECTIONS.items():
        result = rebuild(name, container.applications, source=source, nats_url=bus.url)
        assert rows(model) == expected[name], name
        assert result.rows == len(expected[name])
        assert shadow_model(model)._meta.db_table not in connection.introspection.table_names()
        position = SubscriberPosition.objects.get(name=f"projection:{name}")
        assert position.caught_up_to("ledger") == container.ledger.max_position()
    assert not SubscriberPosition.objects.filter(name__endswith=":rebuild").exists()
    assert_projection_equals_the_store(container)
    assert_transfers_equal_the_store(container)
    assert entries_projected() == entries_in_store(container)


def test_events_stored_during_the_rebuild_are_in_the_new_rows(
    container: Container, bus: Bus
) -> None:
    """Stored but not yet relayed: the catch-up from the stores brings them in, and the live
    projector applying them later changes nothing."""
    ids = workload(container, accounts=3, rounds=2)
    project(container, bus)
    container.ledger.deposit(ids[1], 777, "late")  # stored, not relayed, not projected
    rebuild("transactions", container.applications, source="nats", nats_url=bus.url)
    assert LedgerEntry.objects.filter(reference="late", account_id=ids[1]).count() == 1
    project(container, bus)
    assert entries_projected() == entries_in_store(container)


def test_since_replays_over_the_existing_rows(container: Container, bus: Bus) -> None:
    ledger = container.ledger
    account = funded(ledger, 1_000)
    ledger.withdraw(account, 10, "before")
    time.sleep(0.01)
    cut = datetime.now(UTC)
    ledger.withdraw(account, 20, "after-1")
    ledger.withdraw(account, 30, "after-2")
    project(container, bus)
    LedgerEntry.objects.filter(reference__in=["before", "after-1", "after-2"]).delete()
    sources: tuple[Source, ...] = ("nats", "store")
    for source in sources:
        rebuild("transactions", container.applications, source=source, nats_url=bus.url, since=cut)
        references = set(LedgerEntry.objects.values_list("reference", flat=True))
        assert {"after-1", "after-2"} <= references  # replayed from the cut
        assert "before" not in references  # older history is left as it was
        assert LedgerEntry.objects.filter(reference="after-1", account_id=account).count() == 1


def test_a_stream_that_lost_its_oldest_messages_needs_the_store(
    container: Container, bus: Bus
) -> None:
    workload(container, accounts=3, rounds=1)
    project(container, bus)
    expected = rows(LedgerEntry)

    async def purge_oldest() -> None:
        client = await connect(bus.url, name="test", daemon=False)
        try:
            await client.jetstream().purge_stream(bus.stream, seq=5)  # keeps 5 onwards
        finally:
            await client.close()

    asyncio.run(purge_oldest())
    with pytest.raises(RebuildError, match="--source store"):
        rebuild("transactions", container.applications, source="nats", nats_url=bus.url)
    assert rows(LedgerEntry) == expected  # the refused rebuild changed nothing
    rebuild("transactions", container.applications, source="store")
    assert rows(LedgerEntry) == expected


def test_the_command_names_the_known_projections_when_given_an_unknown_one(
    container: Container, bus: Bus, commands: Commands
) -> None:
    result = commands.run("rebuild_projection", "ledgers", check=False)
    assert result.returncode != 0
    assert "unknown projection 'ledgers'" in result.stderr
    assert "accounts, " in result.stderr and "transactions" in result.stderr


def test_the_command_rebuilds_and_reports_in_quiet_log_lines(
    container: Container, bus: Bus, commands: Commands
) -> None:
    workload(container, accounts=3, rounds=2)
    project(container, bus)
    expected = rows(LedgerEntry)
    LedgerEntry.objects.all().delete()
    result = commands.run("rebuild_projection", "transactions", "--source", "store")
    assert rows(LedgerEntry) == expected
    assert "\r" not in result.stdout  # not a terminal: lines, no redrawn bar
    assert (
        f"transactions: rebuilt and swapped in: {len(expected):,} events applied" in result.stdout
    )


def test_readers_never_see_an_empty_or_partial_list_during_a_rebuild(
    container: Container, bus: Bus, commands: Commands, make_user: Any, client_for: Any
) -> None:
    """A rebuild of thousands of entries runs in another process while a customer reads its
    transactions over HTTP, page size covering all of them: every answer is complete."""
    ledger = container.ledger
    customer = make_user("reader")
    account = funded(ledger, 1_000_000, owner="reader")
    for n in range(1_500):
        ledger.withdraw(account, 1, f"w{n}")
    project(container, bus)
    total = LedgerEntry.objects.filter(account_id=account).count()
    old_ids = set(LedgerEntry.objects.values_list("id", flat=True))
    client: APIClient = client_for(customer)
    url = f"/api/accounts/{account}/transactions/?page_size=500"
    counts: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            response = client.get(url)
            assert response.status_code == 200
            counts.append(response.json()["count"])
        connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        commands.run("rebuild_projection", "transactions", "--source", "nats", timeout=180)
    finally:
        done.set()
        reader.join()
    assert counts and set(counts) == {total}, f"partial reads: {sorted(set(counts))}"
    new_ids = set(LedgerEntry.objects.values_list("id", flat=True))
    assert not new_ids & old_ids, "the rows were not replaced"
    assert LedgerEntry.objects.filter(account_id=account).count() == total


def test_projectors_killed_mid_batch_again_and_again_leave_exact_rows(
    container: Container, bus: Bus, commands: Commands, tmp_path: Any
) -> None:
    ledger = container.ledger
    ids = [funded(ledger, 1_000_000, owner=f"k{i}") for i in range(4)]
    rng = random.Random(5)
    for n in range(200):
        a, b = rng.sample(ids, 2)
        ledger.transfer_funds(a, b, rng.randint(1, 500), reference=f"k{n}")
    for n in range(6_000):  # a dozen batches of 500: room for several kills mid-stream
        ledger.withdraw(ids[n % 4], 1, f"w{n}")
    relay(container, bus)
    total = len(entries_in_store(container))
    counts_at_kills: list[int] = []
    while len(counts_at_kills) < 8 and LedgerEntry.objects.count() < total:
        before = LedgerEntry.objects.count()
        projector = commands.start("run_projections", log=tmp_path / "projections.log")
        wait_for(
            partial(more_entries_than, before), timeout=60, what="the projector to make progress"
        )
        time.sleep(rng.uniform(0.0, 0.1))
        projector.send_signal(signal.SIGKILL)
        projector.wait()
        counts_at_kills.append(LedgerEntry.objects.count())
    mid_stream = [n for n in counts_at_kills if n < total]
    assert len(mid_stream) >= 3, f"too few kills landed mid-stream: {counts_at_kills} of {total}"
    commands.run("run_projections", "--once")
    assert entries_projected() == entries_in_store(container)
    assert_projection_equals_the_store(container)
    assert TransferSummary.objects.filter(status="completed").count() == 200


def test_the_orders_products_and_alerts_projections_rebuild_to_the_same_rows(
    container: Container, bus: Bus
) -> None:
    ledger, orders, compliance = container.ledger, container.orders, container.compliance
    account = funded(ledger, 1_000_000, owner="shopper")
    orders.create_product("MUG", "Mug", 1_250, 10)
    orders.create_product("TEA", "Tea", 499, 3)
    placed = [orders.place_order("shopper", account, [("MUG", 2), ("TEA", 1)]) for _ in range(3)]
    orders.place_order("shopper", account, [("TEA", 5)])  # out of stock: cancelled
    orders.cancel_order(placed[0].order_id)
    orders.ship_order(placed[1].order_id)
    alert = compliance.raise_alert(uuid4(), account, 1_200_000, "EUR", "large_transfer", "big")
    compliance.raise_alert(uuid4(), account, 1_000_000, "EUR", "large_transfer", "big too")
    compliance.resolve_alert(alert.id, "cleared", by="staff", note="known customer")
    relay(container, bus)
    names = ["orders", "products", "alerts"]
    asyncio.run(run_subscribers([f"projection:{n}" for n in names], bus.url, once=True))
    models = {name: PROJECTORS[name].model for name in names}
    expected = {name: rows(model) for name, model in models.items()}
    assert [len(expected[n]) for n in names] == [4, 2, 2]
    for model in models.values():
        model._default_manager.all().delete()
    for source in typing.get_args(Source):
        for name, model in models.items():
            rebuild(name, container.applications, source=source, nats_url=bus.url)
            assert rows(model) == expected[name], (name, source)
