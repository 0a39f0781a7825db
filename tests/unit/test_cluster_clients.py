"""What a client of a JetStream cluster does without a server: the servers a NATS_URL names, the
answers that mean "a leader is being elected", and a stream set-up that a timed-out create
cannot fool."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
import pytest
from nats.js.errors import (
    BadRequestError,
    NoStreamResponseError,
    NotFoundError,
    ServiceUnavailableError,
)

from messaging import elections
from messaging.connection import NatsNotFound, servers
from messaging.elections import during_an_election, through_an_election
from messaging.stream import STREAM_NAME_IN_USE, StreamSettings, ensure_stream


def test_a_nats_url_may_list_a_cluster_s_servers() -> None:
    assert servers("nats://a:4222") == ["nats://a:4222"]
    assert servers(" tls://u:p@a:4222, tls://u:p@b:4222 ,tls://u:p@c:4222") == [
        "tls://u:p@a:4222", "tls://u:p@b:4222", "tls://u:p@c:4222",
    ]  # fmt: skip
    with pytest.raises(NatsNotFound):
        servers(" , ")


@pytest.mark.parametrize(
    "answer",
    [
        nats.errors.TimeoutError(),
        TimeoutError(),
        NoStreamResponseError(),
        nats.errors.NoRespondersError(),
        ServiceUnavailableError(),
    ],
)
def test_what_jetstream_answers_during_an_election(answer: Exception) -> None:
    assert during_an_election(answer)


@pytest.mark.parametrize(
    "answer", [NotFoundError(), BadRequestError(), nats.errors.ConnectionClosedError()]
)
def test_what_is_no_election(answer: Exception) -> None:
    assert not during_an_election(answer)


def test_an_election_is_waited_out_and_anything_else_is_raised(monkeypatch: Any) -> None:
    monkeypatch.setattr(elections, "RETRY_SECONDS", 0.01)
    answers: list[Any] = [NoStreamResponseError(), ServiceUnavailableError(), "stored"]

    async def attempt() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert asyncio.run(through_an_election(attempt, what="test")) == "stored"

    async def refused() -> str:
        raise BadRequestError(description="no")

    with pytest.raises(BadRequestError):
        asyncio.run(through_an_election(refused, what="test"))


def test_an_election_that_never_ends_is_given_up_on(monkeypatch: Any) -> None:
    monkeypatch.setattr(elections, "RETRY_SECONDS", 0.01)
    tries = 0

    async def attempt() -> str:
        nonlocal tries
        tries += 1
        raise nats.errors.TimeoutError

    with pytest.raises(nats.errors.TimeoutError):
        asyncio.run(through_an_election(attempt, what="test", patience=0.1))
    assert 2 <= tries <= 20


class ClusterJetStream:
    """A JetStream API whose first create times out and yet creates the stream: what a cluster
    electing its leader did here."""

    def __init__(self) -> None:
        self.exists = False
        self.calls: list[str] = []

    async def stream_info(self, name: str) -> Any:
        self.calls.append("info")
        if not self.exists:
            raise NotFoundError(code=404, description="stream not found")
        return object()

    async def add_stream(self, config: Any) -> Any:
        self.calls.append("add")
        if self.exists:
            raise BadRequestError(code=400, err_code=STREAM_NAME_IN_USE, description="in use")
        self.exists = True  # it happened, but the answer never came back
        raise nats.errors.TimeoutError

    async def update_stream(self, config: Any) -> Any:
        self.calls.append("update")
        return object()


def test_a_create_that_timed_out_is_looked_up_again_not_made_twice(monkeypatch: Any) -> None:
    monkeypatch.setattr(elections, "RETRY_SECONDS", 0.01)
    js = ClusterJetStream()
    outcome = asyncio.run(ensure_stream(js, StreamSettings("S", "s", replicas=3)))  # type: ignore[arg-type]
    assert outcome == "updated"
    assert js.calls == ["info", "add", "info", "update"]


def test_the_stream_has_the_replicas_it_is_given() -> None:
    assert StreamSettings("S", "s").config().num_replicas == 1
    assert StreamSettings("S", "s", replicas=3).config().num_replicas == 3


def test_a_create_that_lost_a_race_updates_instead(monkeypatch: Any) -> None:
    """Another set-up (or an earlier, timed-out create) made the stream between our look and
    our create: JetStream says the name is in use, and we update it."""
    js = ClusterJetStream()

    async def raced_add(config: Any) -> Any:
        js.calls.append("add")
        js.exists = True
        raise BadRequestError(code=400, err_code=STREAM_NAME_IN_USE, description="in use")

    js.add_stream = raced_add  # type: ignore[method-assign]
    assert asyncio.run(ensure_stream(js, StreamSettings("S", "s"))) == "updated"  # type: ignore[arg-type]
    assert js.calls == ["info", "add", "info", "update"]
