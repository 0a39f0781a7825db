"""Riding out a JetStream election: what a client sees while a cluster replaces a lost leader.

On a cluster (``EVENTBANK_STREAM_REPLICAS`` 3) every stream and consumer has a leader. When the
node holding one dies, the others elect a new leader within seconds, and meanwhile JetStream
answers in three ways, all of them "not now" rather than "no": a request to the dead leader
times out; a publish meets no responder (``NoStreamResponseError``); the API answers 503
(``ServiceUnavailableError``). A request that timed out may still have taken effect — a publish
stored, a stream created — so what is retried must be safe to repeat: a publish with the same
``Nats-Msg-Id`` (JetStream drops the copy), a set-up that looks again before it creates.

An election is bounded: past ``PATIENCE_SECONDS`` the trouble is something else (a cluster
without a quorum, a network cut), and each caller falls back to its own way of waiting for NATS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What JetStream answers while a leader is being elected (nats-py's types: nats.js.errors).
DURING_AN_ELECTION: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,  # asked the dead leader
    asyncio.TimeoutError,  # the same, from a wait nats-py bounds with asyncio (TimeoutError)
    NoStreamResponseError,  # a publish no leader took
    nats.errors.NoRespondersError,  # an API request no leader took
    ServiceUnavailableError,  # 503: JetStream knows it has no leader yet
)
# Elections measured here took 4-8 s; well past that it is no election.
PATIENCE_SECONDS = 30.0
# Short and fixed, not a back-off: an election ends all at once, and the first retry after it
# should come soon.
RETRY_SECONDS = 0.25


def during_an_election(exc: BaseException) -> bool:
    """Whether ``exc`` is JetStream saying "not now" while a leader is elected."""
    return isinstance(exc, DURING_AN_ELECTION)


async def through_an_election(
    attempt: Callable[[], Awaitable[T]], *, what: str, patience: float = PATIENCE_SECONDS
) -> T:
    """``attempt()``, again and again while JetStream is electing, for at most ``patience``
    seconds; then the last error is raised. ``attempt`` must be safe to repeat: the one that
    timed out may have been done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    said = False
    while True:
        try:
            return await attempt()
        except DURING_AN_ELECTION as exc:
            if loop.time() + RETRY_SECONDS > deadline:
                raise
            if not said:
                logger.info("%s: %s; JetStream is electing a leader, trying again", what, exc)
                said = True
            await asyncio.sleep(RETRY_SECONDS)
