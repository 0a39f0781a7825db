"""Live updates: one subscription to the stream per web process, fanned out to every open
stream of ``GET /api/live/`` whose filter accepts each event.

A ``Hub`` holds the process's one consumer: nats-py's *ordered consumer* — ephemeral, with no
acknowledgements, delivered in stream order, which the library re-creates after the last
sequence it delivered whenever it sees a gap or its heartbeats stop (a NATS restart). The hub
starts it with the first stream and stops it with the last. For each batch of deliveries it asks
once who each event concerns (``Owners``), then offers every event, in order, to each
``Listener``: a bounded queue of what its stream has not sent yet. A listener that falls
``capacity`` events behind is cut off rather than left to buffer without bound.

Resuming after a sequence is exact because sequences are: ``join`` says the last sequence the
hub had handed out when the listener joined (every later one reaches the listener's queue),
and ``catch_up`` reads the stream from the resumed sequence up to exactly that one through a
short-lived consumer of its own. The stream's earlier events, then the queue: no gap, and no
event twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import nats.errors
from asgiref.sync import sync_to_async
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from messaging.connection import connect
from messaging.stream import StreamSettings
from messaging.subscriber import FETCH_TIMEOUTS, UndecodableMessage, decode_payload

logger = logging.getLogger(__name__)

# Who each envelope of a batch concerns: the usernames of the customers it is about (staff see
# every event). Called in a worker thread, since it may read the contexts' stores.
Owners = Callable[[Sequence[Mapping[str, Any]]], list[frozenset[str]]]
# The same for one envelope, if it is known without reading anything (else None): called on the
# event loop, so most events never cost a hop to a thread.
KnownOwners = Callable[[Mapping[str, Any]], frozenset[str] | None]

# The ordered consumer's idle heartbeat: two missed ones and nats-py re-creates the consumer
# after the last sequence delivered, which is how the hub rides out a NATS restart.
HEARTBEAT_SECONDS = 2.0
CATCH_UP_BATCH = 256
# The hub hands out at most this many events before it lets the streams write: a burst (a batch
# of a thousand transfers is thousands of events) must not fill every queue before any can drain.
SLICE = 100
# A stream cut off for falling behind is told so; one whose client reads nothing cannot even be
# told (its writes wait on the socket), so after this long it is ended from outside.
CUT_OFF_SECONDS = 1.0
READY_SECONDS = 10.0  # how long a new stream waits for the hub's consumer before 503
RETRY_SECONDS = (0.2, 5.0)  # first and longest back-off between attempts


class HubUnavailable(Exception):
    """The hub could not subscribe to the stream in time (NATS is away)."""


class TooManyStreams(Exception):
    """A user, or the whole process, already has as many streams as it may."""


@dataclass(frozen=True, eq=False)
class LiveEvent:
    """One event of the stream, as the hub offers it to listeners."""

    sequence: int
    envelope: Mapping[str, Any]
    line: bytes  # the envelope as one line of JSON
    owners: frozenset[str]  # the customers it concerns

    @property
    def type(self) -> str:
        return str(self.envelope["type"])

    @property
    def source(self) -> str:
        return str(self.envelope.get("source", ""))

    @cached_property
    def frame(self) -> bytes:
        """The event as Server-Sent Events carry it; made once, however many streams send it."""
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.sequence, self.type.encode(), self.line)


def one_line(data: bytes) -> bytes:
    """The envelope's JSON on one line: as published it is compact, but a ``data:`` line ends at
    the first line break, so any are taken out (JSON allows them only between tokens)."""
    if b"\n" in data or b"\r" in data:
        return data.replace(b"\r", b"").replace(b"\n", b"")
    return data


@dataclass(eq=False)
class Listener:
    """One open stream: who it is for, what it accepts, and what it has not sent yet."""

    username: str
    accepts: Callable[[LiveEvent], bool]
    capacity: int
    everyone: bool = False  # offered every event (staff), not only those that concern it
    waiting: deque[LiveEvent] = field(default_factory=deque)
    ended: str | None = None  # why the hub stopped serving it, once it has
    task: asyncio.Task[Any] | None = None  # the task writing the stream out, once it writes
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: LiveEvent) -> None:
        """Queue the event if this stream wants it; past ``capacity``, give up on the stream."""
        if self.ended or not self.accepts(event):
            return
        if len(self.waiting) >= self.capacity:
            self.end(f"more than {self.capacity} events behind; resume with Last-Event-ID")
            # Cancelling the task that serves the request is how a client's going away ends it
            # too (Django's ASGI handler): the connection closes, whatever the socket holds.
            if self.task is not None:
                asyncio.get_running_loop().call_later(CUT_OFF_SECONDS, self.task.cancel)
        else:
            self.waiting.append(event)
            self._arrived.set()

    def end(self, reason: str) -> None:
        """Serve this stream no more: what it had not sent is dropped, and it is told why."""
        self.ended = reason
        self.waiting.clear()
        self._arrived.set()

    async def next_events(self, timeout: float) -> list[LiveEvent]:
        """Every event waiting, once there is one; none after ``timeout`` seconds of quiet."""
        if not self.waiting and not self.ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        self._arrived.clear()
        events = list(self.waiting)
        self.waiting.clear()
        return events


class Hub:
    """The process's one consumer of the stream, and the listeners it serves."""

    def __init__(
        self,
        *,
        url: Callable[[], str],
        stream: StreamSettings,
        owners: Owners,
        known_owners: KnownOwners,
        per_user: int,
        total: int,
    ) -> None:
        self.url = url
        self.stream = stream
        self.owners = owners
        self.known_owners = known_owners
        self.per_user = per_user
        self.total = total
        self.listeners: set[Listener] = set()
        # Who is offered what: every event to the listeners under None (staff), an event that
        # concerns a user to that user's. A slice costs the listeners it reaches, not them all.
        self._audience: dict[str | None, set[Listener]] = {}
        self.last: int | None = None  # the last sequence handed out (None: never subscribed)
        self.resubscribes = 0
        self._joining: Counter[str] = Counter()  # streams waiting for the subscription, by user
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._js: JetStreamContext | None = None

    # --- Listeners -------------------------------------------------------------------------

    async def join(self, listener: Listener) -> int:
        """Serve ``listener`` from now on; return the last sequence handed out before it joined
        (every later event is offered to it). ``TooManyStreams`` or ``HubUnavailable`` if not."""
        # Streams still joining count too: many may wait for the subscription at once.
        users = self._joining + Counter(other.username for other in self.listeners)
        if users[listener.username] >= self.per_user:
            raise TooManyStreams(f"{listener.username} has {self.per_user} streams open already.")
        if users.total() >= self.total:
            raise TooManyStreams(f"This process serves {self.total} streams already.")
        try:
            self.url()
        except Exception as exc:  # no NATS configured at all: no use waiting for it
            raise HubUnavailable(str(exc)) from None
        self._joining[listener.username] += 1
        try:
            self._start()
            try:
                await asyncio.wait_for(self._ready.wait(), READY_SECONDS)
            except TimeoutError:
                raise HubUnavailable("NATS does not answer.") from None
        finally:
            self._joining[listener.username] -= 1
        # No await from here on: the hub hands out nothing between reading `last` and the
        # listener's joining, so it receives exactly the events after `last`.
        assert self.last is not None
        self.listeners.add(listener)
        self._audience.setdefault(_key(listener), set()).add(listener)
        return self.last

    def leave(self, listener: Listener) -> None:
        """Stop serving ``listener``; with no listener left, drop the subscription."""
        self.listeners.discard(listener)
        self._audience.get(_key(listener), set()).discard(listener)
        if not self.listeners and not self._joining.total() and self._task is not None:
            self._task.cancel()
            self._task = None
            self._ready.clear()

    async def close(self) -> None:
        """Cut every listener off and drop the subscription (the process is stopping)."""
        for listener in list(self.listeners):
            listener.end("the server is stopping; resume with Last-Event-ID")
        self.listeners.clear()
        self._audience.clear()
        task, self._task = self._task, None
        self._ready.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- The one subscription --------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None or self._task.done():
            # A context of its own: the hub outlives the request that started it, and must not
            # carry that request's correlation ids or thread-sensitive context.
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="live-hub", context=contextvars.Context()
            )

    async def _run(self) -> None:
        backoff = RETRY_SECONDS[0]
        while True:
            try:
                await self._subscribed()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away, the stream missing: retried, never fatal
                logger.warning("live hub: %s: %s; subscribing again", type(exc).__name__, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_SECONDS[1])

    async def _subscribed(self) -> None:
        """One subscription, from just after ``last``, handed out until it fails or the hub
        stops. Its deliveries are its own: one that a ``leave`` let go may still be delivering
        while the next one starts."""
        client: Client = await connect(self.url(), name="eventbank-live")
        subscription = None
        inbox: list[Msg] = []
        arrived = asyncio.Event()

        async def receive(msg: Msg) -> None:
            inbox.append(msg)
            arrived.set()

        try:
            js = client.jetstream()
            if self.last is None:  # a new hub serves what is published from now on
                self.last = int((await js.stream_info(self.stream.name)).state.last_seq)
            subscription = await js.subscribe(
                self.stream.subject(">"),
                stream=self.stream.name,
                cb=receive,
                ordered_consumer=True,
                idle_heartbeat=HEARTBEAT_SECONDS,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                config=ConsumerConfig(opt_start_seq=self.last + 1),
            )
            self.resubscribes += 1
            self._js = js
            self._ready.set()
            await self._hand_out(inbox, arrived)
        finally:
            if self._task is asyncio.current_task():  # not one a `leave` has let go already
                self._js = None
                self._ready.clear()
            if subscription is not None:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await subscription.unsubscribe()
            with contextlib.suppress(Exception):
                await client.close()

    async def _hand_out(self, inbox: list[Msg], arrived: asyncio.Event) -> None:
        """Forever: take what has arrived, learn who each event concerns, offer each in order,
        a slice at a time. What is not handed out when this ends comes again after ``last``."""
        while True:
            if not inbox:
                await arrived.wait()
            arrived.clear()
            messages = inbox[:SLICE]
            del inbox[:SLICE]
            assert self.last is not None
            fresh, newest = [], self.last
            for message in messages:  # in stream order; anything at or before `last` is had
                sequence = message.metadata.sequence.stream  # parsed anew at each reading
                if sequence > newest:
                    fresh.append((sequence, message))
                    newest = sequence
            events = await self._events_of(fresh) if self.listeners else []
            everyone = list(self._audience.get(None, ()))
            for event in events:
                for listener in everyone:
                    listener.offer(event)
                for user in event.owners:
                    for listener in list(self._audience.get(user, ())):
                        listener.offer(event)
            self.last = newest
            for listener in [one for one in self.listeners if one.ended]:
                self.leave(listener)
            await asyncio.sleep(0)  # the streams write out what was just queued

    async def _events_of(self, messages: Sequence[tuple[int, Msg]]) -> list[LiveEvent]:
        """The eventbank envelopes among ``messages`` (each with its stream sequence), each with
        who it concerns. Reading the owners may fail (a store away): tried again until it works,
        so nothing is skipped."""
        deliveries = []
        for sequence, msg in messages:
            try:
                delivery = decode_payload(msg.data, sequence=sequence, subject=msg.subject)
                deliveries.append((delivery, msg.data))
            except UndecodableMessage:
                continue  # not an eventbank envelope: no stream shows it
        owners = [self.known_owners(delivery.event) for delivery, _ in deliveries]
        unknown = [i for i, concerns in enumerate(owners) if concerns is None]
        backoff = RETRY_SECONDS[0]
        while unknown:
            try:
                envelopes = [deliveries[i][0].event for i in unknown]
                read = await sync_to_async(self.owners, thread_sensitive=False)(envelopes)
                for i, concerns in zip(unknown, read, strict=True):
                    owners[i] = concerns
                break
            except Exception:
                logger.exception("live hub: who these events concern is unknown; trying again")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_SECONDS[1])
        return [
            LiveEvent(delivery.sequence, delivery.event, one_line(data), concerns or frozenset())
            for (delivery, data), concerns in zip(deliveries, owners, strict=True)
        ]

    # --- Reading what came before ----------------------------------------------------------

    async def held(self) -> tuple[int, int]:
        """The first and last sequences the stream holds (NATS says first = last + 1 when it
        holds nothing, and 0, 0 before its first message)."""
        info = await (await self._jetstream()).stream_info(self.stream.name)
        return int(info.state.first_seq), int(info.state.last_seq)

    async def catch_up(self, after: int, upto: int) -> AsyncIterator[list[LiveEvent]]:
        """The stream's events after ``after`` up to and including ``upto``, in batches, through
        a short-lived ack-free consumer of their own; NATS away is waited out, resuming after
        the last event yielded."""
        position, backoff = after, RETRY_SECONDS[0]
        while position < upto:
            subscription = None
            try:
                subscription = await (await self._jetstream()).pull_subscribe(
                    self.stream.subject(">"),
                    stream=self.stream.name,
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.NONE,
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=position + 1,
                        inactive_threshold=60.0,
                        mem_storage=True,
                    ),
                )
                received = 0
                while position < upto:
                    try:
                        messages = await subscription.fetch(CATCH_UP_BATCH, timeout=2.0)
                    except FETCH_TIMEOUTS:
                        return  # nothing more is held up to `upto` (it was deleted)
                    first = messages[0].metadata.sequence.consumer
                    if first != received + 1:  # a delivery lost on the way: read it again
                        raise nats.errors.Error(f"catch-up delivery #{received + 1} was lost")
                    received += len(messages)
                    sequenced = [(m.metadata.sequence.stream, m) for m in messages]
                    within = [(sequence, m) for sequence, m in sequenced if sequence <= upto]
                    events = await self._events_of(within)
                    if events:
                        yield events
                    last = messages[-1].metadata
                    position = max(position, min(last.sequence.stream, upto))
                    if last.sequence.stream >= upto or not last.num_pending:
                        return
                backoff = RETRY_SECONDS[0]
            except nats.errors.Error as exc:
                logger.warning("live catch-up: %s; reading again after #%s", exc, position)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_SECONDS[1])
            finally:
                if subscription is not None:
                    # Unsubscribed before anything drains: nats-py's drain after a timed-out
                    # fetch stalls otherwise (messaging/subscriber.py says the same).
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()

    async def _jetstream(self) -> JetStreamContext:
        """The hub's JetStream context, once it is subscribed (waiting out NATS being away)."""
        while self._js is None:
            self._start()
            await self._ready.wait()
        return self._js


def _key(listener: Listener) -> str | None:
    return None if listener.everyone else listener.username
