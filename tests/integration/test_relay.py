"""The outbox relay: every stored event on the stream exactly once, in each source's order —
with concurrent writers, with the relay killed again and again, and with NATS killed."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from config.container import Container, build_container
from messaging.runtime import relay_events
from tests.conftest import CONTEXTS, PrivatePostgres
from tests.integration.conftest import Bus, Commands
from tests.support import read_stream, wait_for
from tests.testapp.markers import Marker

pytestmark = pytest.mark.django_db(transaction=True)


def write_load(
    container: Container, seconds: float, stop: threading.Event | None = None
) -> threading.Thread:
    """Three writers, one per context, writing until ``seconds`` pass (or ``stop``)."""

    def ledger_writer() -> None:
        account = container.ledger.open_account("alice", "EUR")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            container.ledger.deposit(account.id, 100, str(uuid4()))

    def marker_writer(app) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            app.save(Marker(id=uuid4()))

    threads = [
        threading.Thread(target=ledger_writer),
        threading.Thread(target=marker_writer, args=(container.orders,)),
        threading.Thread(target=marker_writer, args=(container.compliance,)),
    ]
    for t in threads:
        t.start()

    def join_all() -> None:
        for t in threads:
            t.join()

    joiner = threading.Thread(target=join_all)
    joiner.start()
    return joiner


def wait_for_the_relay(bus: Bus, container: Container, log: Path, when: str) -> None:
    """Until the stream holds as many events as the stores; failing, show the relay's log (a
    relay that died at start and one that is slow look the same from the stream)."""
    expected = sum(len(p) for p in stored_positions(container).values())
    try:
        wait_for(
            lambda: len(asyncio.run(read_stream(bus.url, bus.stream))) >= expected,
            timeout=60,
            what=f"the relay to catch up {when}",
        )
    except AssertionError as failure:
        ends = log.read_text()[-4000:]
        raise AssertionError(f"{failure}\nthe relay's log ends:\n{ends}") from None


def stored_positions(container: Container) -> dict[str, list[int]]:
    positions = {}
    for name, app in container.applications.items():
        ids: list[int] = []
        after = 0
        while page := app.notifications_after(after, 1000):
            ids.extend(n.id for n in page)
            after = page[-1].id
        positions[name] = ids
    return positions


def assert_stream_holds_each_event_once_in_order(bus: Bus, container: Container) -> None:
    messages = asyncio.run(read_stream(bus.url, bus.stream))
    msg_ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert len(msg_ids) == len(set(msg_ids)), "a Nats-Msg-Id appears twice"
    published: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        body = json.loads(m.data)
        assert m.headers["Nats-Msg-Id"] == f"{body['source']}:{body['position']}"
        assert m.subject == f"{bus.prefix}.{body['type']}"
        published[body["source"]].append(body["position"])
    for source, positions in stored_positions(container).items():
        assert published[source] == positions, f"{source}: stream differs from the store"


def test_concurrent_writers_reach_the_stream_exactly_once_in_order(
    bus: Bus, container: Container
) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        relay = asyncio.create_task(
            relay_events(container.applications, bus.url, once=False, stop=stop)
        )
        await asyncio.to_thread(write_load(container, seconds=2.0).join)
        expected = sum(len(p) for p in stored_positions(container).values())

        async def published() -> int:
            return (
                await asyncio.to_thread(lambda: asyncio.run(read_stream(bus.url, bus.stream)))
            ).__len__()

        deadline = time.monotonic() + 30
        while await published() < expected:
            assert time.monotonic() < deadline, "the relay fell behind"
            await asyncio.sleep(0.1)
        stop.set()
        await relay

    asyncio.run(scenario())
    assert_stream_holds_each_event_once_in_order(bus, container)


def test_the_relay_killed_ten_times_under_load_loses_and_doubles_nothing(
    bus: Bus, container: Container, commands: Commands, tmp_path
) -> None:
    rng = random.Random(20261124)
    stop_writing = threading.Event()
    writers = write_load(container, seconds=60, stop=stop_writing)
    try:
        for _ in range(10):
            relay = commands.start("relay_events", log=tmp_path / "relay.log")
            time.sleep(rng.uniform(0.3, 1.2))
            relay.send_signal(signal.SIGKILL)
            relay.wait()
    finally:
        stop_writing.set()
        writers.join()
    commands.run("relay_events", "--once")
    assert_stream_holds_each_event_once_in_order(bus, container)


def test_nats_killed_during_load_loses_nothing(
    private_bus: Bus, container: Container, commands: Commands, tmp_path
) -> None:
    stop_writing = threading.Event()
    writers = write_load(container, seconds=30, stop=stop_writing)
    relay = commands.start("relay_events", log=tmp_path / "relay.log")
    try:
        time.sleep(1.0)
        private_bus.server.kill()
        time.sleep(1.5)
        private_bus.server.start()
        time.sleep(1.0)
    finally:
        stop_writing.set()
        writers.join()
    wait_for_the_relay(private_bus, container, tmp_path / "relay.log", "after the outage")
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(30) == 0
    assert_stream_holds_each_event_once_in_order(private_bus, container)


def test_a_second_relay_waits_while_the_first_holds_the_sources(
    bus: Bus, container: Container, commands: Commands, tmp_path
) -> None:
    container.ledger.open_account("alice", "EUR")
    first = commands.start("relay_events", log=tmp_path / "first.log")
    try:
        wait_for(
            lambda: len(asyncio.run(read_stream(bus.url, bus.stream))) == 1,
            timeout=30,
            what="first relay",
        )
        second = commands.start("relay_events", "-v", "2", log=tmp_path / "second.log")
        wait_for(
            lambda: "another relay holds" in (tmp_path / "second.log").read_text(),
            timeout=30,
            what="standby",
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        container.ledger.open_account("bob", "EUR")
        wait_for(
            lambda: len(asyncio.run(read_stream(bus.url, bus.stream))) == 2,
            timeout=30,
            what="takeover",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        for process in (first, locals().get("second")):
            if process is not None and process.poll() is None:
                process.kill()
    assert_stream_holds_each_event_once_in_order(bus, container)


def test_relay_once_exits_zero_and_reports_positions(
    bus: Bus, container: Container, commands: Commands
) -> None:
    container.ledger.open_account("alice", "EUR")
    output = commands.run("relay_events", "--once").stdout
    assert "ledger: published up to position 1" in output
    assert_stream_holds_each_event_once_in_order(bus, container)


@pytest.mark.parametrize("also_positions", [False, True], ids=["stores", "stores-and-positions"])
def test_the_relay_survives_a_postgres_restart(
    bus: Bus, private_postgres: PrivatePostgres, commands: Commands, tmp_path, also_positions: bool
) -> None:
    """The event stores live in a cluster of the test's own, restarted under load — and, the
    second time, the relay's positions and its lock too (Django's database): the relay rides
    it out in its process, never exiting."""
    stores = dict.fromkeys(CONTEXTS, private_postgres.url())
    container = build_container(stores)
    env = {**commands.env, **{f"{c.upper()}_EVENTSTORE_URL": url for c, url in stores.items()}}
    if also_positions:
        with psycopg.connect(private_postgres.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE django")
        env["DATABASE_URL"] = private_postgres.url("django")
        Commands(env).run("migrate", "-v0")
    relay = Commands(env).start("relay_events", log=tmp_path / "relay.log")
    stop_writing = threading.Event()
    written: list[int] = []

    def tolerant_writer() -> None:
        account = container.ledger.retrying(lambda: container.ledger.open_account("alice", "EUR"))
        while not stop_writing.is_set():
            try:
                container.ledger.deposit(account.id, 100, str(uuid4()))
                written.append(1)
            except Exception:  # the database is restarting: try again
                time.sleep(0.05)

    writer = threading.Thread(target=tolerant_writer)
    writer.start()
    try:
        wait_for(lambda: len(written) > 50, timeout=30, what="writes before the restart")
        # A relay that is relaying (not still starting) when the database goes away...
        wait_for_the_relay(bus, container, tmp_path / "relay.log", "before the restart")
        # ...down long enough for the relay to ask for its lock, its positions and its events.
        private_postgres.restart(down_for=3.0)
        before = len(written)
        wait_for(lambda: len(written) > before + 50, timeout=30, what="writes after the restart")
    finally:
        stop_writing.set()
        writer.join()
    try:
        wait_for_the_relay(bus, container, tmp_path / "relay.log", "after the restart")
        assert_stream_holds_each_event_once_in_order(bus, container)
        assert relay.poll() is None, "the relay died instead of riding out the restart"
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(30)
        container.close()
