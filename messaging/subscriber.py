"""The one consumer loop every subscriber uses: batches in, one transaction out, exactly once.

A subscriber's position is the stream sequence it last applied, kept in its own database and
written *in the same transaction* as the batch's effects. It reads through an ephemeral pull
consumer with no acknowledgements that starts right after that position, and it makes a new one
whenever it (re)starts or the server forgets the old one. So there is no redelivery to reorder
(the trap of docs/decisions/0003: a durable consumer's redeliveries overtaking a watermark lost
a batch) and no ack to lose: a kill before the commit replays the batch, after it resumes past
it.

A batch that fails is retried one message at a time; a message that keeps failing, or cannot
be decoded at all, is parked in ``DeadLetter`` — in the same transaction that moves the position
past it — and the subscriber goes on.

What fails for a while is ridden out in the process, never exited on: a NATS restart (which
forgets the consumer), messages lost on a dropped connection, a database away (not the
message's fault, so nothing is parked for it). The subscriber drops its consumer, waits a
little longer each try, and starts again after its stored position.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

import nats.errors
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils.module_loading import import_string
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from kernel.correlation import Correlation, correlation_scope
from messaging.elections import PATIENCE_SECONDS, during_an_election
from messaging.elections import RETRY_SECONDS as ELECTION_RETRY_SECONDS
from messaging.lifecycle import DATABASE_UNAVAILABLE, sleep_unless
from messaging.models import DeadLetter, RelayPosition, SubscriberPosition
from messaging.stream import StreamSettings

logger = logging.getLogger(__name__)

FETCH_TIMEOUTS = (nats.errors.TimeoutError, asyncio.TimeoutError, TimeoutError)


async def fetch(
    subscription: JetStreamContext.PullSubscription, batch: int, timeout: float
) -> list[Msg]:
    """Up to ``batch`` deliveries, as nats-py's pull subscription fetches them.

    ``settings.EVENTBANK_FETCH`` names the function a subscriber fetches with: this one, or the
    tuning package's."""
    return await subscription.fetch(batch, timeout=timeout)


Fetch = Callable[[JetStreamContext.PullSubscription, int, float], Awaitable[list[Msg]]]


@cache
def _fetcher(name: str) -> Fetch:
    fetcher: Fetch = import_string(name)
    return fetcher


@dataclass(frozen=True)
class Delivery:
    """One message as a handler sees it: its stream sequence, subject, and envelope."""

    sequence: int
    subject: str
    event: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.event["type"])

    def caused(self) -> AbstractContextManager[Correlation]:
        """A correlation scope for what a handler stores because of this event."""
        return correlation_scope(
            self.event.get("correlation_id"), causation_id=self.event.get("id")
        )


class Handler(Protocol):
    """What a subscriber does with what it receives. ``apply`` runs inside the transaction that
    also moves the position; it raises to refuse, and must do nothing outside that transaction
    that a replay would repeat."""

    @property
    def name(self) -> str: ...

    @property
    def event_types(self) -> Sequence[str]:
        """Event type patterns relative to the prefix: "account.>", "transfer.completed"."""
        ...

    def apply(self, deliveries: Sequence[Delivery]) -> None: ...


class UndecodableMessage(ValueError):
    """A message that is not an eventbank envelope."""


class LostDeliveries(Exception):
    """Messages the consumer sent that never arrived."""


# What a subscriber waits out, starting again after its stored position: NATS away or without
# our consumer (nats-py's errors, the JetStream API's among them), lost deliveries, a database
# away.
RIDDEN_OUT: tuple[type[Exception], ...] = (nats.errors.Error, LostDeliveries, *DATABASE_UNAVAILABLE)


def advanced(source_positions: dict[str, int], deliveries: Sequence[Delivery]) -> dict[str, int]:
    """The per-source positions after these deliveries (each source's log arrives in order)."""
    result = dict(source_positions)
    for d in deliveries:
        source, position = d.event.get("source"), d.event.get("position")
        if isinstance(source, str) and isinstance(position, int):
            result[source] = max(result.get(source, 0), position)
    return result


def relayed_positions() -> dict[str, int]:
    """How far the relay has published each source (its positions are stored after the acks)."""
    return dict(RelayPosition.objects.values_list("source", "position"))


def decode(msg: Msg) -> Delivery:
    return decode_payload(msg.data, sequence=msg.metadata.sequence.stream, subject=msg.subject)


def decode_payload(data: bytes, *, sequence: int, subject: str) -> Delivery:
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UndecodableMessage(f"not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or "data" not in event:
        raise UndecodableMessage("not an eventbank envelope (no type or data)")
    return Delivery(sequence=sequence, subject=subject, event=event)


@dataclass
class SubscriberStats:
    applied: int = 0
    sequence: int = 0  # the last stream sequence committed
    batches: int = 0
    dead_letters: int = 0
    resubscribes: int = 0


def _discard(fetch: asyncio.Future[list[Msg]]) -> None:
    """A fetch dropped unread: whatever it got, or failed with, no one will ask for."""
    if not fetch.cancelled():
        fetch.exception()


class Subscriber:
    def __init__(
        self,
        handler: Handler,
        js: JetStreamContext,
        stream: StreamSettings,
        *,
        batch: int = 500,
        fetch_timeout: float = 0.5,
        max_attempts: int = 3,
    ) -> None:
        self.handler = handler
        self.js = js
        self.stream = stream
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.max_attempts = max_attempts
        self.stats = SubscriberStats()
        self._subscription: Any = None
        self._received = 0  # messages our fetches returned on the current subscription
        self._ahead: asyncio.Future[list[Msg]] | None = None  # the next batch, being fetched
        self._trouble: Exception | None = None  # what the subscriber is riding out, if anything

    @property
    def subjects(self) -> list[str]:
        return [self.stream.subject(t) for t in self.handler.event_types]

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Consume from the stored position until ``stop`` is set — or, with ``once``, until
        nothing is left."""
        try:
            await self._consume(stop, once)
        finally:
            # Unsubscribe before the connection drains: nats-py's drain after a timed-out fetch
            # stalls until a request of its own times out otherwise.
            await self._drop()

    async def _consume(self, stop: asyncio.Event, once: bool) -> None:
        backoff = 0.2
        electing_since: float | None = None
        while not stop.is_set():
            try:
                caught_up = await self._advance()
            except RIDDEN_OUT as exc:
                await self._start_again(exc)
                if during_an_election(exc):
                    electing_since = electing_since or time.monotonic()
                    if time.monotonic() - electing_since < PATIENCE_SECONDS:
                        # The consumer's (or the stream's) leader was lost: a new one is
                        # elected within seconds, so subscribe again soon, not after a back-off.
                        await sleep_unless(stop, ELECTION_RETRY_SECONDS)
                        continue
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self._trouble is not None:  # the outage was said once, at warning; its end quietly
                logger.debug("subscriber %s: consuming again", self.handler.name)
            self._trouble, backoff, electing_since = None, 0.2, None
            if caught_up and once:
                return

    async def _advance(self) -> bool:
        """Apply the next batch; or, with none to come, find out whether everything is applied
        (which also asks the server whether it still has our consumer). Returns the latter."""
        if self._subscription is None:
            self._subscription, self._received = await self._subscribe(), 0
        ahead, self._ahead = self._ahead, None
        try:
            messages = await (ahead or self._fetch())
        except FETCH_TIMEOUTS:
            messages = []
        if not messages:
            return await self._caught_up()
        self._check_none_lost(messages)
        self._received += len(messages)
        # The next batch is read from the server while this one is written to the database.
        self._ahead = asyncio.ensure_future(self._fetch())
        await sync_to_async(self.apply_batch)(messages)
        return False

    def _check_none_lost(self, messages: Sequence[Msg]) -> None:
        """An ack-free consumer counts each message it sends, and never sends one again: a
        message lost on the way (the connection dropped, and the consumer outlived it) shows as
        a gap in those counts, and the batch after it must not move the position past it."""
        first, last = (m.metadata.sequence.consumer for m in (messages[0], messages[-1]))
        if (first, last) != (self._received + 1, self._received + len(messages)):
            raise LostDeliveries(f"delivery #{self._received + 1} never arrived")

    async def _start_again(self, exc: Exception) -> None:
        """NATS restarted or forgot our consumer, deliveries went missing, or the database is
        away: drop the consumer; the next one starts after the stored position. Said once per
        outage, however many tries it takes."""
        if self._trouble is None:
            logger.warning(
                "subscriber %s: %s: %s; subscribing again from its stored position",
                self.handler.name, type(exc).__name__, exc,
            )  # fmt: skip
        else:
            logger.debug("subscriber %s: still %s: %s", self.handler.name, type(exc).__name__, exc)
        self._trouble = exc
        await self._drop()
        if isinstance(exc, DATABASE_UNAVAILABLE):
            # A connection the error broke stays broken until closed: the next query opens anew.
            await sync_to_async(close_old_connections)()

    async def _fetch(self) -> list[Msg]:
        assert self._subscription is not None
        fetch = _fetcher(settings.EVENTBANK_FETCH)
        return await fetch(self._subscription, self.batch, self.fetch_timeout)

    async def _subscribe(self, **start: Any) -> JetStreamContext.PullSubscription:
        """An ephemeral, ack-free consumer from just after the stored position (or ``start``)."""
        if not start:
            sequence = await sync_to_async(self.position)() + 1
            start = {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": sequence}
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            filter_subjects=self.subjects,
            inactive_threshold=60.0,
            mem_storage=True,
            **start,
        )
        self.stats.resubscribes += 1
        return await self.js.pull_subscribe(
            self.subjects[0], stream=self.stream.name, config=config
        )

    async def _drop(self, subscription: Any = None) -> None:
        """Unsubscribe ``subscription``, or this subscriber's own one."""
        if subscription is None:
            subscription, self._subscription = self._subscription, None
            if self._ahead is not None:  # its messages are not applied: they come again
                self._ahead.cancel()
                self._ahead.add_done_callback(_discard)
                self._ahead = None
        if subscription is not None:
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # the connection may be gone already; nothing to clean
                logger.debug("subscriber %s: unsubscribe failed: %s", self.handler.name, exc)

    async def _caught_up(self) -> bool:
        """Whether everything on the stream for us is applied. If so, we have also reached
        every source position the relay had published before we looked: record them, so a
        read can wait for a position even when its event is one we filter out."""
        assert self._subscription is not None
        published = await sync_to_async(relayed_positions)()
        info = await self._subscription.consumer_info()
        # Each fetched batch is applied before the next fetch, so everything the consumer has
        # delivered is applied once our fetches have returned as many messages. (Its delivered
        # *stream* sequence is no guide: a filtered consumer moves it past what it skips.)
        if int(info.num_pending or 0) or int(info.delivered.consumer_seq or 0) > self._received:
            return False  # more to come, or delivered and not yet fetched
        await sync_to_async(self._reached)(published)
        return True

    # --- Replay ---------------------------------------------------------------------------

    async def rewind(self, *, sequence: int | None = None, since: datetime | None = None) -> int:
        """Move the position so the next ``run`` replays from a stream sequence or a time (for
        rebuilds: the caller resets what the handler built). Returns the new position."""
        if since is not None:
            sequence = await self._first_sequence_since(since)
        target = max((sequence or 1) - 1, 0)
        await sync_to_async(self._set_position)(target)
        return target

    async def _first_sequence_since(self, since: datetime) -> int:
        probe = await self._subscribe(
            deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since
        )
        try:
            first = await probe.fetch(1, timeout=self.fetch_timeout)
            return int(first[0].metadata.sequence.stream)
        except FETCH_TIMEOUTS:  # nothing since then: start after the last message
            info = await self.js.stream_info(self.stream.name)
            return int(info.state.last_seq) + 1
        finally:
            await self._drop(probe)

    def _reached(self, source_positions: dict[str, int]) -> None:
        with transaction.atomic():
            row = SubscriberPosition.locked(self.handler.name)
            merged = {
                source: max(row.caught_up_to(source), position)
                for source, position in {**row.source_positions, **source_positions}.items()
            }
            if merged != row.source_positions:
                row.source_positions = merged
                row.save(update_fields=["source_positions", "updated_at"])

    def _set_position(self, sequence: int) -> None:
        SubscriberPosition.objects.update_or_create(
            name=self.handler.name, defaults={"stream_sequence": sequence}
        )

    # --- Applying, in one transaction with the position ------------------------------------

    def position(self) -> int:
        row = SubscriberPosition.objects.filter(name=self.handler.name).first()
        return row.stream_sequence if row else 0

    def apply_batch(self, messages: Sequence[Msg]) -> None:
        """Apply a batch and move the position past it, in one transaction; fall back to one
        message at a time when the batch as a whole is refused."""
        if not messages:
            return
        try:
            self._commit(messages)
        except DATABASE_UNAVAILABLE:
            raise  # no message's fault: the batch is applied once the database is back
        except Exception as exc:  # the handler refused the batch: find the message that fails
            logger.warning(
                "subscriber %s: batch failed (%s); retrying one by one", self.handler.name, exc
            )
            for message in messages:
                self._apply_one(message)
        self.stats.batches += 1

    def _commit(self, messages: Sequence[Msg], dead: tuple[Msg, str, int] | None = None) -> None:
        with transaction.atomic():
            position = SubscriberPosition.locked(self.handler.name)
            fresh = [m for m in messages if m.metadata.sequence.stream > position.stream_sequence]
            if not fresh:
                return  # another instance applied these already
            deliveries = []
            for message in fresh:
                if dead is not None and message is dead[0]:
                    continue
                try:
                    deliveries.append(decode(message))
                except UndecodableMessage as exc:
                    self._park(message, str(exc), attempts=1)
            if deliveries:
                self.handler.apply(deliveries)
            if dead is not None:
                self._park(*dead)
            position.stream_sequence = fresh[-1].metadata.sequence.stream
            position.source_positions = advanced(position.source_positions, deliveries)
            position.save(update_fields=["stream_sequence", "source_positions", "updated_at"])
        self.stats.applied += len(deliveries)
        self.stats.sequence = position.stream_sequence

    def _apply_one(self, message: Msg) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._commit([message])
                return
            except DATABASE_UNAVAILABLE:
                raise
            except Exception as exc:  # a handler may fail in any way; count it, then park it
                error = f"{type(exc).__name__}: {exc}"
                if attempt < self.max_attempts:
                    time.sleep(0.05 * attempt)
        logger.error(
            "subscriber %s: parking #%s: %s",
            self.handler.name,
            message.metadata.sequence.stream,
            error,
        )
        self._commit([message], dead=(message, error, self.max_attempts))

    def _park(self, message: Msg, error: str, attempts: int) -> None:
        DeadLetter.objects.update_or_create(
            subscriber=self.handler.name,
            stream_sequence=message.metadata.sequence.stream,
            defaults={
                "subject": message.subject,
                "payload": message.data.decode("utf-8", errors="replace"),
                "error": error[:2000],
                "attempts": attempts,
            },
        )
        self.stats.dead_letters += 1
