"""``GET /metrics``: request counts summed over every worker, state read at scrape time, and
only staff or a scraper with the token may read it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from config.container import Container
from messaging.models import DeadLetter
from messaging.runtime import relay_events, run_subscribers
from ops import web_server
from tests.integration.conftest import ROOT, Bus
from tests.support import funded

pytestmark = pytest.mark.django_db(transaction=True)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def staff_session(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_requests_are_counted_by_method_and_status(
    container: Container, staff_session: Client
) -> None:
    before = sample(
        scrape(staff_session), "eventbank_http_requests_total", method="GET", status="401"
    )
    for _ in range(3):
        assert Client().get("/api/accounts/").status_code == 401
    after = sample(
        scrape(staff_session), "eventbank_http_requests_total", method="GET", status="401"
    )
    assert after - before == 3


def test_state_is_read_from_the_stores_and_projections_at_scrape_time(
    container: Container, bus: Bus, staff_session: Client
) -> None:
    ledger = container.ledger
    a, b = funded(ledger, 1_000), funded(ledger, 0)
    ledger.transfer_funds(a, b, 100)
    ledger.freeze_account(b, "review")
    ledger.transfer_funds(a, b, 100)  # compensated
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers(["projection:transfers"], bus.url, once=True))
    DeadLetter.objects.create(
        subscriber="projection:accounts", subject="x", stream_sequence=3, payload="{}", error="e"
    )
    head = ledger.max_position()

    samples = scrape(staff_session)
    assert sample(samples, "eventbank_sagas", kind="transfer", status="completed") == 1
    assert sample(samples, "eventbank_sagas", kind="transfer", status="compensated") == 1
    assert sample(samples, "eventbank_event_store_position", source="ledger") == head
    assert sample(samples, "eventbank_relay_position", source="ledger") == head
    assert sample(samples, "eventbank_relay_lag_events", source="ledger") == 0
    lag = "eventbank_subscriber_lag_events"
    assert sample(samples, lag, subscriber="projection:transfers", source="ledger") == 0
    assert sample(samples, lag, subscriber="projection:accounts", source="ledger") == head
    unresolved = "eventbank_dead_letters_unresolved"
    assert sample(samples, unresolved, subscriber="projection:accounts") == 1
    assert (unresolved, frozenset({("subscriber", "projection:orders")})) in samples  # zero, shown

    ledger.deposit(a, 500, "more")
    later = scrape(staff_session)
    assert (
        sample(later, "eventbank_relay_lag_events", source="ledger") == ledger.max_position() - head
    )


def test_every_workers_request_counts_are_summed(
    container: Container, staff_session: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes count into PROMETHEUS_MULTIPROC_DIR, as the web server's workers do; one
    scrape reports both."""
    count = (
        "from api.middleware import REQUESTS; REQUESTS.labels(method='POST', status='201').inc(2)"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(staff_session)
    assert sample(samples, "eventbank_http_requests_total", method="POST", status="201") == 4


def test_the_web_server_starts_with_an_empty_counts_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "counter_123.db"
    stale.write_bytes(b"old run")
    keep = tmp_path / "notes.txt"
    keep.write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with web_server.counts_directory():
        assert not stale.exists() and keep.exists()
    assert keep.exists()  # a directory named for it is the namer's to keep


def test_the_web_server_makes_a_counts_directory_when_none_is_named_and_removes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # unset again after the test
    with web_server.counts_directory() as directory:
        assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]) == directory
        assert directory.is_dir() and list(directory.iterdir()) == []
        (directory / "counter_1.db").write_bytes(b"counts")
    assert not directory.exists()


def test_a_scraper_with_the_token_may_read_it(container: Container, settings: Any) -> None:
    settings.METRICS_TOKEN = "scrape-secret-1"
    samples = scrape(Client(), Authorization="Bearer scrape-secret-1")
    assert ("eventbank_relay_lag_events", frozenset({("source", "ledger")})) in samples


@pytest.mark.parametrize(
    ("token", "authorization"),
    [
        ("scrape-secret-1", ""),
        ("scrape-secret-1", "Bearer wrong"),
        ("scrape-secret-1", "Token scrape-secret-1"),
        ("", "Bearer "),  # no token configured: no bearer is accepted, not even an empty one
    ],
)
def test_anyone_else_without_a_session_is_refused_with_401(
    container: Container, settings: Any, token: str, authorization: str
) -> None:
    settings.METRICS_TOKEN = token
    headers = {"Authorization": authorization} if authorization else {}
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_a_customer_is_refused_with_403(container: Container, make_user: Any) -> None:
    customer = Client()
    customer.force_login(make_user("alice"))
    assert customer.get("/metrics").status_code == 403


def test_staff_may_read_it_with_an_api_token_and_a_customer_may_not(
    container: Container, staff: Any, make_user: Any
) -> None:
    staff_token = Token.objects.create(user=staff).key
    samples = scrape(Client(), Authorization=f"Token {staff_token}")
    assert ("eventbank_relay_lag_events", frozenset({("source", "ledger")})) in samples
    customer_token = Token.objects.create(user=make_user("alice")).key
    for authorization, status in ((f"Token {customer_token}", 403), ("Token not-a-token", 401)):
        response = Client().get("/metrics", headers={"Authorization": authorization})
        assert response.status_code == status, authorization


def test_with_an_event_store_down_it_still_answers_and_names_it(
    orders_store_down: Container, staff_session: Client
) -> None:
    samples = scrape(staff_session)
    assert sample(samples, "eventbank_event_store_up", source="orders") == 0
    assert sample(samples, "eventbank_event_store_up", source="ledger") == 1
    assert ("eventbank_relay_lag_events", frozenset({("source", "ledger")})) in samples
    assert ("eventbank_relay_lag_events", frozenset({("source", "orders")})) not in samples
