"""Helpers the test layers share: funded accounts, balances, waiting for a condition."""

from __future__ import annotations

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
