"""The relay's window while JetStream elects a leader, against a JetStream that stores what the
old leader took and answers "no response from stream" until a new one is elected: the window is
re-sent whole, with the same message ids, soon and not after a back-off, and lands once, in
order."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace
from typing import Any

import pytest
from nats.js.api import PubAck
from nats.js.errors import NoStreamResponseError

from messaging import relay as relay_module
from messaging.relay import OutboundMessage, Relay, RelayStopped
from messaging.stream import StreamSettings


class ElectingJetStream:
    """Stores the first ``taken`` publishes, then refuses every publish until ``elected_after``
    further attempts; drops a message id it holds as JetStream's duplicate window does."""

    def __init__(self, taken: int, elected_after: int) -> None:
        self.stored: list[str] = []
        self.taken, self.refusals_left = taken, elected_after
        self.attempts = 0

    async def publish(
        self, subject: str, payload: bytes, timeout: float, headers: dict[str, str]
    ) -> PubAck:
        msg_id = headers["Nats-Msg-Id"]
        self.attempts += 1
        if msg_id in self.stored:
            return PubAck("S", self.stored.index(msg_id) + 1, duplicate=True)
        if self.taken:
            self.taken -= 1
        elif self.refusals_left:
            self.refusals_left -= 1
            raise NoStreamResponseError
        self.stored.append(msg_id)
        return PubAck("S", len(self.stored))


def relay_on(js: Any) -> Relay:
    app = SimpleNamespace(catalogue=SimpleNamespace(source="ledger"))
    return Relay(app, js, StreamSettings("S", "s"), positions=SimpleNamespace())  # type: ignore[arg-type]


def window(size: int) -> list[OutboundMessage]:
    return [OutboundMessage("s.thing", f"ledger:{n}", b"{}", n) for n in range(1, size + 1)]


def said(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "messaging.relay" and r.levelno == level
    ]


def test_a_window_is_re_sent_whole_with_its_ids_until_a_leader_is_elected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="messaging.relay")
    js = ElectingJetStream(taken=3, elected_after=20)  # 3 stored, then an election
    relay = relay_on(js)
    started = time.monotonic()
    asyncio.run(relay.publish_window(window(8), asyncio.Event()))
    assert js.stored == [f"ledger:{n}" for n in range(1, 9)]  # once each, in order
    assert relay.stats.published == 5  # the old leader's three came back as duplicates
    # Four tries of five refusals each, 0.25 s apart: not a back-off that grows.
    assert relay.stats.retries == 4
    assert time.monotonic() - started < 2.0
    assert said(caplog, logging.WARNING) == []  # an election is no outage
    assert len(said(caplog, logging.INFO)) == 2  # its start, and publishing again


def test_past_the_patience_it_is_an_outage(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="messaging.relay")
    monkeypatch.setattr(relay_module, "PATIENCE_SECONDS", 0.3)
    js = ElectingJetStream(taken=0, elected_after=10**6)
    relay = relay_on(js)
    stop = asyncio.Event()

    async def scenario() -> None:
        task = asyncio.create_task(relay.publish_window(window(2), stop))
        await asyncio.sleep(1.0)
        stop.set()
        with pytest.raises(RelayStopped):
            await task

    asyncio.run(scenario())
    assert len(said(caplog, logging.INFO)) == 1  # the election's start
    assert said(caplog, logging.WARNING), "no warning once the election outlasted its patience"
    assert js.stored == []
