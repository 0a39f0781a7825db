"""The outbox relay: every stored event, in its source's order, onto JetStream, exactly once.

The event store *is* the outbox: nothing is written twice and no publish happens inside a
business transaction. For each source (a context's notification log) the relay reads after its
stored position, publishes a window of events concurrently — each with
``Nats-Msg-Id = <source>:<notification id>`` so JetStream drops what it already holds — and
records the new position once every publish in the window was acknowledged. It records in the
background, one save at a time, and goes on publishing meanwhile: the stored position trails
what is published by a save at most. Killed at any moment, it re-sends what it published after
the last save, which JetStream deduplicates.

Order: one connection carries a window's publishes in order and the server stores them in the
order they arrive, so a window lands as a prefix of what was sent; a failed window is re-sent
from its start. The relay checks the acknowledged sequences rise with the notification ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import Notification
from nats.js import JetStreamContext
from nats.js.api import PubAck

from kernel.application import EventSourcedApplication
from kernel.events import envelope
from messaging.elections import PATIENCE_SECONDS, during_an_election
from messaging.elections import RETRY_SECONDS as ELECTION_RETRY_SECONDS
from messaging.lifecycle import sleep_unless
from messaging.news import news_of
from messaging.stream import StreamSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundMessage:
    subject: str
    msg_id: str
    payload: bytes
    position: int


def encode(
    app: EventSourcedApplication, notification: Notification, stream: StreamSettings
) -> OutboundMessage:
    """One stored event as the message the relay publishes."""
    message = envelope(app.decode(notification), catalogue=app.catalogue, position=notification.id)
    return OutboundMessage(
        subject=stream.subject(message["type"]),
        msg_id=f"{app.catalogue.source}:{notification.id}",
        payload=json.dumps(message, separators=(",", ":")).encode(),
        position=notification.id,
    )


class PositionStore(Protocol):
    """Where a relay keeps its cursor (``messaging.positions.RelayPositions`` in Django)."""

    async def load(self, source: str) -> int: ...

    async def save(self, source: str, position: int) -> None: ...


class RelayStopped(Exception):
    """Stopped while a window was unacknowledged: it will be re-sent at the next start."""


@dataclass
class RelayStats:
    published: int = 0
    windows: int = 0
    retries: int = 0


class Relay:
    """Publishes one source's log. ``run`` until stopped; ``catch_up`` once and return."""

    def __init__(
        self,
        app: EventSourcedApplication,
        js: JetStreamContext,
        stream: StreamSettings,
        positions: PositionStore,
        *,
        window: int = 256,
        page: int = 2048,
        # A publish to a leader that just died is never answered: the sooner it times out, the
        # sooner the window goes to the new leader. A healthy cluster acks a window in
        # milliseconds, and a publish that timed out needlessly is only a duplicate dropped.
        publish_timeout: float = 2.0,
        idle_wait: float = 0.02,
        quiet_wait: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.app = app
        self.source = app.catalogue.source
        self.js = js
        self.stream = stream
        self.positions = positions
        self.window = window
        self.page = page
        self.publish_timeout = publish_timeout
        self.idle_wait = idle_wait  # between reads of a store that sends no news (SQLite)
        self.quiet_wait = quiet_wait  # the longest wait for news before reading anyway
        self.max_backoff = max_backoff
        self.stats = RelayStats()
        self._acknowledged = 0  # the position every publish up to has been acknowledged
        self._recording: asyncio.Future[None] | None = None  # the save under way, if any

    async def run(
        self, stop: asyncio.Event, lock_held: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        """Relay until ``stop`` is set: when idle, wait for news of the store; when behind,
        never wait."""
        position = await self.positions.load(self.source)
        async with (
            news_of(self.app, poll_interval=self.idle_wait, at_most=self.quiet_wait) as news,
            self._saving(),
        ):
            backoff = 0.1
            while not stop.is_set():
                try:
                    notifications = await self._read_after(position)
                except Exception as exc:  # the store is down: wait, then read the page again
                    logger.warning(
                        "relay %s: cannot read the event store (%s); retrying", self.source, exc
                    )
                    await sleep_unless(stop, backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                backoff = 0.1
                if not notifications:
                    await news.wait(stop)
                    continue
                if lock_held is not None and not await lock_held():
                    logger.warning("relay %s: lost its lock; stopping", self.source)
                    return
                position = await self.publish_page(notifications, stop)

    async def catch_up(self, stop: asyncio.Event | None = None) -> int:
        """Publish everything stored now, then return the position reached (``--once``)."""
        stop = stop or asyncio.Event()
        position = await self.positions.load(self.source)
        target = await asyncio.to_thread(self.app.max_position)
        async with self._saving():
            while position < target and not stop.is_set():
                notifications = await self._read_after(position)
                if not notifications:
                    break
                position = await self.publish_page(notifications, stop)
        return position

    async def _read_after(self, position: int) -> Sequence[Notification]:
        return await asyncio.to_thread(self.app.notifications_after, position, self.page)

    async def publish_page(self, notifications: Sequence[Notification], stop: asyncio.Event) -> int:
        position = notifications[0].id - 1
        for start in range(0, len(notifications), self.window):
            window = [
                encode(self.app, n, self.stream) for n in notifications[start : start + self.window]
            ]
            await self.publish_window(window, stop)
            position = window[-1].position
            self._record(position)
        return position

    def _record(self, position: int) -> None:
        """Note that everything up to ``position`` is acknowledged, and have it saved in the
        background: one save at a time, each of the latest position, so the relay never waits
        for its own bookkeeping. A save that failed is raised here, at the next window."""
        self._acknowledged = position
        if self._recording is None or self._recording.done():
            if self._recording is not None:
                self._recording.result()
            self._recording = asyncio.ensure_future(self._save_latest())

    async def _save_latest(self) -> None:
        saved = -1
        while saved < self._acknowledged:
            saved = self._acknowledged
            await self.positions.save(self.source, saved)

    @contextlib.asynccontextmanager
    async def _saving(self) -> AsyncIterator[None]:
        """Publish within it; leaving it, however, waits for the last position to be saved."""
        try:
            yield
        finally:
            if self._recording is not None:
                recording, self._recording = self._recording, None
                await recording

    async def publish_window(self, window: Sequence[OutboundMessage], stop: asyncio.Event) -> None:
        """Publish until every message in the window is acknowledged (or the relay is stopped).

        A failed window is re-sent whole, from its start, with the same ``Nats-Msg-Id`` s: what
        JetStream stored of it comes back as duplicates, and the rest lands after them in order
        (re-sending single messages could store a later one before an earlier one)."""
        backoff = 0.1
        electing_since: float | None = None
        while True:
            results = await asyncio.gather(
                *(self._publish(m) for m in window), return_exceptions=True
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            if not failures:
                acks = [r for r in results if isinstance(r, PubAck)]
                self._check_order(window, acks)
                self.stats.published += sum(1 for a in acks if not a.duplicate)
                self.stats.windows += 1
                if electing_since is not None:
                    logger.info(
                        "relay %s: publishing again after %.1f s",
                        self.source, time.monotonic() - electing_since,
                    )  # fmt: skip
                return
            self.stats.retries += 1
            if stop.is_set():
                raise RelayStopped(window[0].msg_id)
            if electing_since is None and all(map(during_an_election, failures)):
                electing_since = time.monotonic()
                logger.info(
                    "relay %s: %s; re-sending the window from %s while JetStream elects a leader",
                    self.source, failures[0], window[0].msg_id,
                )  # fmt: skip
            if (
                electing_since is not None
                and all(map(during_an_election, failures))
                and time.monotonic() - electing_since < PATIENCE_SECONDS
            ):
                # A lost leader is replaced within seconds: try again soon, not after a back-off.
                await sleep_unless(stop, ELECTION_RETRY_SECONDS)
                continue
            logger.warning(
                "relay %s: %d of %d publishes failed (%s); re-sending the window from %s",
                self.source, len(failures), len(window), failures[0], window[0].msg_id,
            )  # fmt: skip
            await sleep_unless(stop, backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _publish(self, message: OutboundMessage) -> PubAck:
        return await self.js.publish(
            message.subject,
            message.payload,
            timeout=self.publish_timeout,
            headers={"Nats-Msg-Id": message.msg_id},
        )

    def _check_order(self, window: Sequence[OutboundMessage], acks: Sequence[PubAck]) -> None:
        sequences = [a.seq for a in acks]
        if any(later <= earlier for earlier, later in itertools.pairwise(sequences)):
            logger.error(
                "relay %s: stream sequences do not rise with positions %s..%s: %s",
                self.source, window[0].position, window[-1].position, sequences,
            )  # fmt: skip
