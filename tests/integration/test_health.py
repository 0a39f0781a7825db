"""``GET /healthz`` beyond "it answers": the JetStream stream exists, and no subscriber is
further behind a source than ``EVENTBANK_MAX_LAG`` events — and a 503 names what is wrong."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import Client

from config.container import Container
from messaging.embedded import free_port
from messaging.handlers import names
from messaging.runtime import relay_events, run_subscribers, setup_nats
from tests.integration.conftest import Bus
from tests.support import funded

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = {
    "database", "ledger_events", "orders_events", "compliance_events", "customers_events", "nats",
    "stream", "subscriber_lag",
}  # fmt: skip


def health() -> tuple[int, dict[str, Any]]:
    response = Client().get("/healthz")
    return response.status_code, response.json()


def test_all_ok_when_the_stream_exists_and_subscribers_keep_up(
    container: Container, bus: Bus
) -> None:
    asyncio.run(setup_nats(bus.url))
    status, body = health()
    assert (status, body["down"]) == (200, [])
    assert {name: body[name] for name in CHECKS} == dict.fromkeys(CHECKS, "ok")


def test_a_missing_stream_is_named(container: Container, bus: Bus) -> None:
    status, body = health()  # the test's stream was never created
    assert (status, body["down"]) == (503, ["stream"])
    assert f"stream {bus.stream} does not exist" in body["stream"]
    assert body["nats"] == "ok"


def test_with_nats_down_the_stream_is_unchecked_not_down(container: Container, settings) -> None:
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    settings.NATS_CONNECT_TIMEOUT = 0.5
    status, body = health()
    assert (status, body["down"]) == (503, ["nats"])
    assert body["stream"] == "unchecked: needs nats"


def test_a_subscriber_past_the_lag_bound_is_named_until_it_catches_up(
    container: Container, bus: Bus, settings
) -> None:
    asyncio.run(setup_nats(bus.url))
    funded(container.ledger, 1_000)  # an account, the cash account and a deposit's two legs
    bound = settings.MAX_SUBSCRIBER_LAG = container.ledger.max_position()  # just within it
    assert health()[0] == 200
    funded(container.ledger, 1_000)
    head = container.ledger.max_position()
    status, body = health()
    assert (status, body["down"]) == (503, ["subscriber_lag"])
    assert f"projection:accounts is {head} events behind ledger" in body["subscriber_lag"]
    assert "projection:products" not in body["subscriber_lag"]  # it reads no ledger events
    assert body["subscriber_lag"].endswith(f"(bound {bound})")

    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers(names(), bus.url, once=True))
    status, body = health()
    assert (status, body["down"], body["subscriber_lag"]) == (200, [], "ok")


def test_lag_is_unchecked_while_an_event_store_is_down(
    orders_store_down: Container, bus: Bus
) -> None:
    asyncio.run(setup_nats(bus.url))
    status, body = health()
    assert (status, body["down"]) == (503, ["orders_events"])
    assert body["subscriber_lag"] == "unchecked: needs orders_events"
