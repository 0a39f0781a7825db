"""What ``/healthz`` and the positions page say of a read replica, whatever its state, and that
neither says anything of one where none is configured. (The figures themselves come from a real
standby in ``tests/cluster/test_read_replica.py``; here ``ops.replica`` is told the state.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import Client

from config.container import Container
from messaging.runtime import setup_nats
from ops import console, health
from ops.replica import ReplicaState
from tests.integration.conftest import Bus

pytestmark = pytest.mark.django_db(transaction=True)

AWAY = ReplicaState(False, "primary", error="OperationalError: connection refused")
BEHIND = ReplicaState(False, "replica", lag_seconds=42.5, lag_bytes=123_456)


@pytest.fixture
def replica(monkeypatch: pytest.MonkeyPatch) -> Any:
    def told(state: ReplicaState) -> None:
        for module in (health, console):
            monkeypatch.setattr(module, "replica_configured", lambda: True)
            monkeypatch.setattr(module, "replica_state", lambda: state)

    return told


def test_without_a_replica_healthz_and_the_page_say_nothing_of_one(
    container: Container, bus: Bus, admin_client: Client
) -> None:
    asyncio.run(setup_nats(bus.url))
    assert "replica" not in Client().get("/healthz").json()
    assert b'id="replica"' not in admin_client.get("/admin/operations/positions/").content


@pytest.mark.parametrize("state", [AWAY, BEHIND], ids=["away", "behind"])
def test_a_replica_away_or_behind_is_shown_and_healthz_stays_200(
    container: Container, bus: Bus, admin_client: Client, replica: Any, state: ReplicaState
) -> None:
    asyncio.run(setup_nats(bus.url))
    replica(state)
    response = Client().get("/healthz")
    body = response.json()
    assert (response.status_code, body["down"]) == (200, [])
    assert body["replica"] == state.as_json()
    assert body["replica"]["ok"] is False

    page = admin_client.get("/admin/operations/positions/").content.decode()
    assert 'id="replica"' in page
    assert f"<td>{state.reads_from}</td>" in page
    if state.error:
        assert "down: OperationalError: connection refused" in page
    else:
        assert "<td>behind</td>" in page and "<td>42.5</td>" in page and "123456" in page
