"""The outbox relay on a three-node JetStream cluster (the stream at R3): the stream leader is
SIGKILLed under load, later the next leader, each node restarted; every stored event reaches
the stream exactly once, in each source's order, and no write waits for NATS."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from uuid import uuid4

import pytest

from config.container import Container
from messaging.runtime import relay_events
from tests.cluster.conftest import ClusterBus, NatsCluster
from tests.integration.test_relay import (
    assert_stream_holds_each_event_once_in_order,
    stored_positions,
)
from tests.support import read_stream
from tests.testapp.markers import Marker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass
class Writers:
    """One writer per context, writing until stopped; what each stored and what it was refused."""

    container: Container
    stop: threading.Event = field(default_factory=threading.Event)
    written: int = 0
    refused: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Writers:
        account = self.container.ledger.open_account("alice", "EUR")
        writes = [
            lambda: self.container.ledger.deposit(account.id, 100, str(uuid4())),
            lambda: self.container.orders.save(Marker(id=uuid4())),
            lambda: self.container.compliance.save(Marker(id=uuid4())),
        ]
        self.threads = [threading.Thread(target=self._write, args=(w,)) for w in writes]
        for thread in self.threads:
            thread.start()
        return self

    def _write(self, write: object) -> None:
        assert callable(write)
        while not self.stop.is_set():
            try:
                write()
                self.written += 1
            except Exception as exc:  # a refused write is the finding
                self.refused.append(exc)
            time.sleep(0.002)  # a steady load, leaving the two cores room for three servers

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


class Resumptions(logging.Handler):
    """When each relay source said it was publishing again after an election."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("relay ") and "publishing again after" in record.msg:
            self.times.append(time.monotonic())


def test_the_relay_rides_out_losing_the_stream_leader_twice(
    cluster_bus: ClusterBus, nats_cluster: NatsCluster, container: Container
) -> None:
    resumptions = Resumptions()
    relay_logger = logging.getLogger("messaging.relay")
    relay_logger.addHandler(resumptions)
    level = relay_logger.level
    relay_logger.setLevel(logging.INFO)
    stalls: list[float] = []

    async def published() -> int:
        return len(await read_stream(cluster_bus.url, cluster_bus.stream))

    async def scenario() -> None:
        stop = asyncio.Event()
        relay = asyncio.create_task(
            relay_events(container.applications, cluster_bus.url, once=False, stop=stop)
        )
        writers = Writers(container).start()
        try:
            for _ in range(2):
                leader = await asyncio.to_thread(nats_cluster.wait_until_whole, cluster_bus.stream)
                assert leader.leader is not None
                node = nats_cluster.node(leader.leader)
                await asyncio.sleep(1.0)  # the relay busy with the load
                killed_at = time.monotonic()
                await asyncio.to_thread(node.kill)
                stalls.append(await _stalled_since(killed_at, resumptions, relay))
                await asyncio.to_thread(node.start)
        finally:
            await asyncio.to_thread(writers.finish)
        expected = sum(len(p) for p in stored_positions(container).values())
        deadline = time.monotonic() + 60
        while await published() < expected:
            assert not relay.done(), relay.exception()
            assert time.monotonic() < deadline, "the relay did not catch up after the outages"
            await asyncio.sleep(0.2)
        stop.set()
        await relay
        assert writers.refused == []
        assert writers.written > 0

    try:
        asyncio.run(scenario())
    finally:
        relay_logger.removeHandler(resumptions)
        relay_logger.setLevel(level)
    print(f"\nthe relay stalled {', '.join(f'{s:.1f}' for s in stalls)} s for the two leaders lost")
    assert_stream_holds_each_event_once_in_order(cluster_bus, container)


async def _stalled_since(
    killed_at: float, resumptions: Resumptions, relay: asyncio.Task[object]
) -> float:
    """Seconds from the kill until the relay last said it publishes again, once every source
    has settled (no failure for a while); the relay must not have given up meanwhile."""
    deadline = killed_at + 40
    while time.monotonic() < deadline:
        assert not relay.done(), relay.exception()
        after = [t for t in resumptions.times if t > killed_at]
        if after and time.monotonic() - after[-1] > 2.0:
            return after[-1] - killed_at
        await asyncio.sleep(0.1)
    raise AssertionError("the relay did not publish again within 40 s of losing the leader")
