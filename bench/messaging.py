"""Messaging throughput beside its anchors, measured in one run on one private nats-server.

    relay       events/s from an event store to JetStream (the outbox relay, --once)
    raw publish the same payloads, same windows of concurrent publishes, straight from nats-py
    subscriber  events/s through the subscriber runtime (a handler that does nothing, so this
                is the runtime's own ceiling: fetch, decode, one transaction per batch)
    raw fetch   the same messages through a bare fetch(500) loop

Run: .venv/bin/python -m bench.messaging [--events N]   (see bench/environment.py)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import uuid4

from bench.environment import prepare

prepare()

from django.conf import settings  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig  # noqa: E402

from bench.figures import Figure  # noqa: E402
from config.container import Container, build_container  # noqa: E402
from ledger.domain import Account  # noqa: E402
from messaging.connection import connect  # noqa: E402
from messaging.embedded import NatsServer  # noqa: E402
from messaging.handlers import register  # noqa: E402
from messaging.positions import RelayPositions  # noqa: E402
from messaging.relay import encode  # noqa: E402
from messaging.runtime import relay_events, run_subscribers  # noqa: E402
from messaging.stream import StreamSettings, ensure_stream  # noqa: E402
from messaging.subscriber import Delivery  # noqa: E402


class CountingHandler:
    name = "bench:count"
    event_types = (">",)
    seen = 0

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        CountingHandler.seen += len(deliveries)


def fill_store(container: Container, events: int) -> None:
    """``events`` ledger events: accounts opened and deposited into, saved in batches. Events to
    measure the pipeline with, not books: the cash account's legs are left out."""
    per_account = 10
    batch = []
    cash = uuid4()
    for _ in range(events // (per_account + 1)):
        account = Account(id=uuid4(), owner="bench", currency="EUR")
        for _ in range(per_account):
            account.deposit(100, str(uuid4()), cash)
        batch.append(account)
        if len(batch) == 50:
            container.ledger.save(*batch)
            batch = []
    if batch:
        container.ledger.save(*batch)


async def raw_publish(
    url: str, stream: StreamSettings, payloads: list[tuple[str, bytes]], window: int
) -> float:
    client = await connect(url, name="bench-raw", daemon=False)
    js = client.jetstream()
    await ensure_stream(js, stream)
    started = time.perf_counter()
    for start in range(0, len(payloads), window):
        chunk = payloads[start : start + window]
        await asyncio.gather(*(js.publish(subject, data, timeout=10) for subject, data in chunk))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def raw_fetch(url: str, stream: StreamSettings, count: int) -> float:
    client = await connect(url, name="bench-fetch", daemon=False)
    js = client.jetstream()
    sub = await js.pull_subscribe(
        stream.subjects[0], stream=stream.name, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
    )
    started = time.perf_counter()
    seen = 0
    while seen < count:
        seen += len(await sub.fetch(500, timeout=5))
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    await client.close()
    return elapsed


def relay_figure(container: Container, url: str) -> Figure:
    """The relay over the ledger's backlog (what it has not published yet: the filled store's
    events), beside raw publishing of the same payloads (same windows of 256 concurrent
    publishes) to a stream of its own."""
    raw_stream = StreamSettings(name="RAW", prefix="raw")
    payloads = []
    after = asyncio.run(RelayPositions().load(container.ledger.catalogue.source))
    while page := container.ledger.notifications_after(after, 5000):
        for n in page:
            message = encode(container.ledger, n, raw_stream)
            payloads.append((message.subject, message.payload))
        after = page[-1].id
    started = time.perf_counter()
    asyncio.run(relay_events(container.applications, url, once=True, stop=asyncio.Event()))
    relay_seconds = time.perf_counter() - started
    raw_seconds = asyncio.run(raw_publish(url, raw_stream, payloads, window=256))
    return Figure(
        "relay", len(payloads) / relay_seconds, "events/s", "raw nats-py publish",
        len(payloads) / raw_seconds, extra={"events": len(payloads)},
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()

    data = Path(settings.DATA_DIR)
    container = build_container(settings.EVENT_STORE_URLS)
    register(CountingHandler.name, CountingHandler)
    with NatsServer(data / "nats-bench") as server:
        settings.NATS_URL = server.url
        fill_store(container, args.events)
        relay = relay_figure(container, server.url)

        started = time.perf_counter()
        asyncio.run(run_subscribers([CountingHandler.name], server.url, once=True))
        subscriber_seconds = time.perf_counter() - started
        fetch_seconds = asyncio.run(
            raw_fetch(server.url, StreamSettings("RAW", "raw"), relay.extra["events"])
        )
    container.close()

    store = "PostgreSQL" if "postgres" in settings.EVENT_STORE_URLS["ledger"] else "SQLite"
    rows = [
        ("relay", relay.value, "raw publish", relay.anchor_value),
        (
            "subscriber",
            CountingHandler.seen / subscriber_seconds,
            "raw fetch",
            relay.extra["events"] / fetch_seconds,
        ),
    ]
    print(f"{relay.extra['events']} events, {store} store, nats-server with sync_interval: always")
    print(f"{'figure':<12}{'events/s':>10}   {'anchor':<12}{'msg/s':>10}   ratio")
    for name, value, anchor, anchor_value in rows:
        assert value is not None
        assert anchor_value is not None
        ratio = value / anchor_value
        print(f"{name:<12}{value:>10,.0f}   {anchor:<12}{anchor_value:>10,.0f}   {ratio:.2f}")


if __name__ == "__main__":
    main()
