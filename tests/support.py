"""Helpers the test layers share: funded accounts, balances, waiting for a condition, racing
threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from ledger.application import LedgerApplication

T = TypeVar("T")


def funded(
    ledger: LedgerApplication, cents: int, currency: str = "EUR", owner: str = "alice"
) -> UUID:
    account = ledger.open_account(owner, currency)
    if cents:
        ledger.deposit(account.id, cents, f"opening-{account.id}")
    return account.id


def balances(ledger: LedgerApplication, *ids: UUID) -> list[int]:
    return [ledger.get_account(i).balance for i in ids]


def wait_for(
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll until ``condition()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or condition}: last {last!r}"
    )


def released_together(
    count: int, action: Callable[[int], T], *, timeout: float = 60.0
) -> tuple[list[T], list[BaseException]]:
    """Run ``action(0)`` … ``action(count - 1)`` in ``count`` threads held at a barrier and released
    at once; return what they returned and what they raised, each in the order they finished.

    A thread still running after ``timeout`` seconds fails the test: a race that hangs is a
    finding, not a pass."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            result = action(i)
        except BaseException as error:  # whatever a racer raises is the caller's to judge
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        raise AssertionError(f"{stuck} of {count} threads still running after {timeout}s")
    return results, errors


async def read_stream(url: str, stream: str) -> list[Any]:
    """Every message in the stream, in stream order (an ephemeral, ack-free consumer)."""
    from nats.js.api import AckPolicy, ConsumerConfig
    from nats.js.errors import NotFoundError

    from messaging.connection import connect

    client = await connect(url, name="test-reader", daemon=False)
    try:
        js = client.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return []
        total = info.state.messages
        consumer = await js.pull_subscribe(
            ">", stream=stream, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
        )
        messages: list[Any] = []
        while len(messages) < total:
            messages.extend(await consumer.fetch(min(500, total - len(messages)), timeout=5))
        await consumer.unsubscribe()
        return messages
    finally:
        await client.close()


def graphql(client: Any, query: str, variables: dict[str, Any] | None = None, **extra: Any) -> Any:
    """POST a GraphQL document to ``/graphql`` with a test client; the client's response."""
    body = {"query": query, "variables": variables or {}}
    return client.post("/graphql", body, format="json", **extra)


def project_everything(container: Any) -> None:
    """Bring every projection up to the stores, as the projectors would from the stream."""
    from messaging.replay import replay_from_store
    from projections.projectors import PROJECTORS

    for projector in PROJECTORS.values():
        replay_from_store(projector(), container.applications)
