"""``tuning/fetch.py``: a fetch that takes the deliveries already received without a timer each
returns what nats-py's fetch returns — the same messages in the same order, a partial batch
when the stream has fewer, the library's timeout when it has none — and repeats exactly the
steps the library's ``next_msg`` takes after its wait."""

from __future__ import annotations

import asyncio
import inspect
from uuid import uuid4

import nats
import pytest
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig

from messaging.embedded import NatsServer
from messaging.subscriber import FETCH_TIMEOUTS, fetch
from tuning.fetch import fetch_ready_first


def test_it_repeats_the_steps_the_librarys_next_msg_takes_after_its_wait() -> None:
    source = inspect.getsource(Subscription.next_msg)
    after_wait = source[source.index("else:") :]
    steps = [line.strip() for line in after_wait.splitlines() if line.strip()]
    assert [s for s in steps if not s.startswith("#")][:4] == [
        "else:",
        "self._pending_size -= len(msg.data)",
        "self._pending_queue.task_done()",
        "return msg",
    ]


async def fetched_by_both(url: str, published: int, batch: int) -> list[list[bytes] | str]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    stream, subject = f"F{uuid4().hex[:8]}", f"f{uuid4().hex[:8]}"
    await js.add_stream(name=stream, subjects=[f"{subject}.>"])
    for n in range(published):
        await js.publish(f"{subject}.{n % 3}", f"m{n}".encode())
    results: list[list[bytes] | str] = []
    try:
        for fetcher in (fetch, fetch_ready_first):
            sub = await js.pull_subscribe(
                f"{subject}.>", stream=stream, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
            )
            got: list[bytes] = []
            try:
                while True:
                    got += [m.data for m in await fetcher(sub, batch, 0.5)]
            except FETCH_TIMEOUTS:  # nats-py's own, or asyncio's plain one: both happen
                results.append(got)
            try:
                await fetcher(sub, batch, 0.2)
            except FETCH_TIMEOUTS:
                results.append("timed out")
            await sub.unsubscribe()
    finally:
        await nc.close()
    return results


@pytest.mark.parametrize(("published", "batch"), [(0, 10), (7, 10), (2_500, 1_000)])
def test_it_fetches_what_the_librarys_fetch_fetches(
    nats_server: NatsServer, published: int, batch: int
) -> None:
    plain, plain_after, ours, ours_after = asyncio.run(
        fetched_by_both(nats_server.url, published, batch)
    )
    assert plain == ours == [f"m{n}".encode() for n in range(published)]
    assert plain_after == ours_after == "timed out"
