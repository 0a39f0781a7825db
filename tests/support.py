"""Helpers the test layers share: funded accounts, balances and the books, order sagas as the
code before holds stored them, waiting for a condition, racing threads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from kernel.application import EventSourcedApplication
from ledger.application import LedgerApplication
from ledger.holds import Hold
from ops.audit import audit_store
from orders.application import OrdersApplication
from orders.domain import PaymentMethod
from orders.saga import OrderPlacement, OrderSaga, payment_id, placement_id
from sagas.engine import AfterCommit, deadline_from_now

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


def posted_and_held(ledger: LedgerApplication, *ids: UUID) -> list[tuple[int, int]]:
    """(posted, set aside by holds) of each account: its ``held``, or, for the account a hold
    is for, its ``incoming``."""
    return [(a.balance, a.held + a.incoming) for a in map(ledger.get_account, ids)]


def payment_hold(ledger: LedgerApplication, payment_id: UUID | None) -> Hold:
    """The hold an order's (or an order saga's) ``payment_id`` names."""
    assert payment_id is not None, "paid by hold"
    return ledger.get_hold(payment_id)


class SimulatedCrash(Exception):
    """Raised right after a commit: the process 'dies' before it can take another step."""


def crash_after(transition: str) -> AfterCommit:
    """A saga runner's after-commit hook that 'crashes' once ``transition`` has committed."""

    def hook(saga: Any, done: str) -> None:
        if done == transition:
            raise SimulatedCrash(transition)

    return hook


def stock(
    orders: OrdersApplication, skus: tuple[str, ...] = ("APPLE", "BREAD")
) -> list[tuple[int, int]]:
    """(on hand, reserved) of each product."""
    return [(p.on_hand, p.reserved) for p in map(orders.get_product, skus)]


def order_money(ledger: LedgerApplication, account: UUID) -> list[tuple[int, int]]:
    """(posted, set aside) of the paying account and of the merchant's, once the books are
    checked (``check_books``)."""
    check_books(ledger)
    return posted_and_held(ledger, account, ledger.merchant_account("EUR").id)


def check_books(ledger: LedgerApplication) -> None:
    """The books balance — for each currency every account's posted balance, the system's own
    included, sums to zero — and the holds add up, as ``manage.py audit_ledger`` checks them
    in the store (``ops.audit.audit_store``)."""
    assert audit_store(ledger).discrepancies == []


@contextmanager
def stored_before_holds(app: EventSourcedApplication) -> Iterator[None]:
    """While open, ``app`` stores each order saga's start as the code before holds did: with no
    ``payment`` and no ``class_version`` (the library writes one only above 1) — the shape of
    the starts in ``tests/fixtures/store_2026_12``. Only a saga paying by transfer can have been
    stored so; ``OrderSaga.Started.upcast_v1_v2`` reads it back."""
    original = app.mapper.to_stored_event

    def as_before(event: Any) -> StoredEvent:
        stored = original(event)
        if not isinstance(event, OrderSaga.Started):
            return stored
        state = json.loads(stored.state)  # the transcoder's JSON: no cipher, no compression
        assert (state.pop("class_version"), state.pop("payment")) == (2, "transfer")
        old = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, old)

    app.mapper.to_stored_event = as_before  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        del app.mapper.to_stored_event


def place_order_before_holds(
    orders: OrdersApplication,
    customer: str,
    account: UUID,
    lines: list[tuple[str, int]],
    *,
    order_id: UUID | None = None,
    after_commit: AfterCommit | None = None,
) -> OrderPlacement:
    """Place an order as the code before holds did: its saga pays by transfer, and its start is
    stored in that code's shape (``stored_before_holds``)."""
    order_id = order_id or uuid4()
    items: list[dict[str, Any]] = [
        {"sku": sku, "quantity": quantity, "price": orders.get_product(sku).price}
        for sku, quantity in lines
    ]
    saga = OrderPlacement(
        id=placement_id(order_id),
        order_id=order_id,
        customer=customer,
        account=account,
        items=items,
        total=sum(i["price"] * i["quantity"] for i in items),
        currency=orders.currency,
        payment_id=payment_id(placement_id(order_id)),
        payment=PaymentMethod.TRANSFER.value,
        deadline=deadline_from_now(orders.saga_deadline_seconds),
    )
    with stored_before_holds(orders):
        return orders.runner(OrderPlacement, after_commit).start(saga)


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


def nats_answers(url: str) -> bool:
    """Whether a NATS server at ``url`` answers a ping now (a connection, a round trip)."""
    import asyncio

    from nats.errors import Error as NatsError

    from messaging.connection import ping

    try:
        asyncio.run(ping(url, timeout=1))
    except (TimeoutError, OSError, NatsError):
        return False
    return True
