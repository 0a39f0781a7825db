"""The projection subscribers on a three-node JetStream cluster: the node that holds a
subscriber's consumer is SIGKILLed while events flow; the subscriber notices within seconds,
subscribes again from its stored position, and the projections equal a fold of the store."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from uuid import UUID, uuid4

import pytest
from asgiref.sync import sync_to_async

from config.container import Container
from messaging.connection import connect, jetstream_session
from messaging.handlers import handler
from messaging.runtime import relay_events
from messaging.subscriber import Subscriber
from projections.models import AccountSummary, LedgerEntry
from projections.projectors import PROJECTORS
from tests.cluster.conftest import ClusterBus, NatsCluster
from tests.integration.test_relay import stored_positions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ACCOUNTS = 10


class Watch(logging.Handler):
    """When the accounts subscriber said it lost its consumer (or NATS) and subscribes again,
    and when it said it consumes again."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)  # "consuming again" is said at debug
        self.noticed: list[float] = []
        self.resumed: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(f"subscriber {PROJECTORS['accounts'].name}:"):
            return
        if "subscribing again from its stored position" in message:
            self.noticed.append(time.monotonic())
        elif "consuming again" in message:
            self.resumed.append(time.monotonic())


def deposit_until(container: Container, accounts: list[UUID], stop: threading.Event) -> None:
    """A steady stream of deposits, round the accounts, until ``stop``."""
    n = 0
    while not stop.is_set():
        container.ledger.deposit(accounts[n % len(accounts)], 100, str(uuid4()))
        n += 1
        time.sleep(0.002)


def test_a_subscriber_whose_consumer_node_dies_resumes_within_seconds(
    cluster_bus: ClusterBus, nats_cluster: NatsCluster, container: Container
) -> None:
    accounts = [container.ledger.open_account("alice", "EUR").id for _ in range(ACCOUNTS)]
    watch = Watch()
    subscriber_logger = logging.getLogger("messaging.subscriber")
    subscriber_logger.addHandler(watch)
    level = subscriber_logger.level
    subscriber_logger.setLevel(logging.DEBUG)
    figures: dict[str, float] = {}

    async def scenario() -> None:
        stop = asyncio.Event()
        relay = asyncio.create_task(
            relay_events(container.applications, cluster_bus.url, once=False, stop=stop)
        )
        async with jetstream_session(cluster_bus.url, name="test-projections") as (js, stream):
            names = [PROJECTORS["accounts"].name, PROJECTORS["transactions"].name]
            subscribers = [
                Subscriber(await sync_to_async(handler)(name), js, stream) for name in names
            ]
            running = [asyncio.create_task(s.run(stop)) for s in subscribers]
            accounts_subscriber = subscribers[0]
            writing = threading.Event()
            writer = threading.Thread(
                target=deposit_until, args=(container, accounts, writing), daemon=True
            )
            writer.start()
            try:
                await _until(lambda: accounts_subscriber.stats.applied > 100, "the projections")
                victim = await _consumer_node(cluster_bus, subscribers[0])
                leader = await asyncio.to_thread(nats_cluster.stream_cluster, stream.name)
                print(f"\nkilling {victim}, its consumer's node (stream leader: {leader.leader})")
                killed_at = time.monotonic()
                await asyncio.to_thread(nats_cluster.node(victim).kill)
                await _until(lambda: watch.noticed, "the subscriber to notice", 20)
                await _until(lambda: watch.resumed, "the subscriber to consume again", 40)
                figures["noticed"] = watch.noticed[0] - killed_at
                figures["resumed"] = watch.resumed[0] - killed_at
                await asyncio.to_thread(nats_cluster.node(victim).start)
            finally:
                writing.set()
                await asyncio.to_thread(writer.join)
            # Everything stored reaches the stream, and both projections apply all of it.
            target = max(stored_positions(container)["ledger"])
            await _until(
                lambda: all(s.stats.applied and _reached(s, target) for s in subscribers),
                "the projections to catch up",
                60,
            )
            stop.set()
            await asyncio.gather(relay, *running)

    try:
        asyncio.run(scenario())
    finally:
        subscriber_logger.removeHandler(watch)
        subscriber_logger.setLevel(level)
    print(
        f"the accounts subscriber noticed its consumer gone after {figures['noticed']:.1f} s "
        f"and consumed again {figures['resumed']:.1f} s after the kill"
    )
    assert figures["noticed"] < 5.0  # nats-py's ordered consumer: two 5 s heartbeats
    assert_projections_fold_the_store(container, accounts)


def _reached(subscriber: Subscriber, position: int) -> bool:
    return subscriber.stats.sequence > 0 and _caught_up_to(subscriber.handler.name) >= position


def _caught_up_to(name: str) -> int:
    from messaging.models import SubscriberPosition

    row = SubscriberPosition.objects.filter(name=name).first()
    return row.caught_up_to("ledger") if row else 0


async def _until(condition: object, what: str, timeout: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not await sync_to_async(condition, thread_sensitive=False)():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _consumer_node(bus: ClusterBus, subscriber: Subscriber) -> str:
    """The node holding the subscriber's consumer (an ephemeral consumer lives on one node)."""
    client = await connect(bus.url, name="test-consumer-info", daemon=False)
    try:
        js = client.jetstream(timeout=2)
        for info in await js.consumers_info(bus.stream):
            filters = info.config.filter_subjects or [info.config.filter_subject or ""]
            if set(filters) == set(subscriber.subjects):
                assert info.cluster is not None and info.cluster.leader is not None
                return info.cluster.leader
        raise AssertionError("the subscriber's consumer is not on the stream")
    finally:
        await client.close()


def assert_projections_fold_the_store(container: Container, accounts: list[UUID]) -> None:
    """Each account's row says what the store says, and its entries sum to its balance (one
    entry per account version: an entry applied twice or missed would show)."""
    entries: dict[UUID, int] = defaultdict(int)
    for entry in LedgerEntry.objects.filter(phase="posted"):
        entries[entry.account_id] += entry.amount if entry.direction == "credit" else -entry.amount
    cash = container.ledger.cash_account("EUR").id
    for account_id in [*accounts, cash]:
        account = container.ledger.get_account(account_id)
        row = AccountSummary.objects.get(id=account_id)
        assert (row.balance, row.version) == (account.balance, account.version)
        assert entries[account_id] == account.balance
