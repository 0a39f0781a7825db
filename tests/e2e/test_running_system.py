"""The system `make run` starts, spoken to over HTTP like a user would."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path

import pytest

from messaging.certificates import issue_certificates
from messaging.embedded import NatsServer, ServerTls
from tests.support import read_stream, wait_for

pytestmark = pytest.mark.slow


def test_it_serves_healthz_with_only_the_embedded_nats_server_which_commands_find(
    start_system,
) -> None:
    system = start_system()
    health = wait_for(
        lambda: (a := system.get("/healthz")).status == 200 and a, timeout=30, what="healthz 200"
    )
    assert health.body["nats"] == "ok" and health.body["down"] == []
    assert {"database", "ledger_events", "orders_events", "compliance_events"} <= set(health.body)
    embedded = re.search(r"started nats-server at (\S+)", system.log.read_text())
    assert embedded and f"NATS         {embedded.group(1)}" in system.log.read_text()
    # An operator's command in another terminal, no NATS_URL given (the README's example).
    assert "NATS_URL" not in system.env
    rebuilt = system.manage("rebuild_projection", "transactions")
    assert "transactions: rebuilt and swapped in" in rebuilt


def test_healthz_goes_503_when_nats_dies_and_comes_back(
    start_system, private_nats: NatsServer
) -> None:
    system = start_system(nats_url=private_nats.url)
    wait_for(lambda: system.get("/healthz").status == 200, timeout=30, what="healthz 200")
    private_nats.kill()
    down = wait_for(
        lambda: (a := system.get("/healthz")).status == 503 and a, timeout=30, what="healthz 503"
    )
    assert down.body["down"] == ["nats"] and down.body["database"] == "ok"
    private_nats.start()
    wait_for(lambda: system.get("/healthz").status == 200, timeout=30, what="healthz back to 200")


def test_two_accounts_a_deposit_and_a_transfer_retried_over_http(start_system) -> None:
    """The README's walk, by new users, with a retry (``tests/e2e/test_readme.py`` runs the
    README's own lines on the demo)."""
    system = start_system()
    alice = system.customer_token("alice", "wonderland-42")
    operator = system.operator_token()

    checking = system.post("/api/accounts/", {}, token=alice)
    savings = system.post("/api/accounts/", {"currency": "EUR"}, token=alice)
    assert checking.status == savings.status == 201
    deposit = system.post(
        f"/api/accounts/{checking.body['id']}/deposits/", {"amount": "100.00"}, token=operator
    )
    assert deposit.status == 201 and deposit.body["balance"] == "100.00"

    body = {
        "from_account": checking.body["id"],
        "to_account": savings.body["id"],
        "amount": "25.00",
    }
    transfer = system.post(
        "/api/transfers/", body, token=alice, headers={"Idempotency-Key": "walk-1"}
    )
    assert transfer.status == 201 and transfer.body["status"] == "completed", transfer.body
    again = system.post("/api/transfers/", body, token=alice, headers={"Idempotency-Key": "walk-1"})
    assert again.body["id"] == transfer.body["id"]
    steps = system.get(f"/api/transfers/{transfer.body['id']}/", token=alice).body["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "succeeded"),
    ]
    assert (
        system.get(f"/api/accounts/{checking.body['id']}/", token=alice).body["balance"] == "75.00"
    )
    assert (
        system.get(f"/api/accounts/{savings.body['id']}/", token=alice).body["balance"] == "25.00"
    )

    # The list comes from the projection: read-your-writes with the transfer's position.
    listed = system.get(f"/api/accounts/?min_position={transfer.body['position']}", token=alice)
    assert listed.status == 200, listed.body
    balances = {a["id"]: a["balance"] for a in listed.body["results"]}
    assert balances == {checking.body["id"]: "75.00", savings.body["id"]: "25.00"}


def test_every_stored_event_reaches_the_stream(start_system) -> None:
    """The relay runs under run_all: an account opened over HTTP appears on the stream."""
    system = start_system()
    token = system.customer_token("carol", "carol-in-wonderland")
    opened = system.post("/api/accounts/", {}, token=token, headers={"X-Correlation-ID": "e2e-1"})
    assert opened.status == 201

    def on_stream() -> list:
        nats_url = re.search(r"started nats-server at (\S+)", system.log.read_text())
        assert nats_url
        return [
            json.loads(m.data) for m in asyncio.run(read_stream(nats_url.group(1), "EVENTBANK"))
        ]

    (message,) = wait_for(on_stream, timeout=30, what="account.opened on the stream")
    assert (message["type"], message["aggregate_id"]) == ("account.opened", opened.body["id"])
    assert message["correlation_id"] == "e2e-1" and message["source"] == "ledger"


def test_the_whole_system_talks_to_nats_over_mutual_tls_with_a_password(
    start_system, tmp_path: Path
) -> None:
    """docker-compose.yml's shape: every service trusts the CA, shows its own certificate,
    opens with the handshake and logs in. A transfer then travels web → store → relay → NATS →
    projector, all of it over TLS, and reaches the projection."""
    certificates, _ = issue_certificates(tmp_path / "tls", hosts=["127.0.0.1"])
    tls = ServerTls(certificates, verify_clients=True, handshake_first=True)
    with NatsServer(tmp_path / "nats", tls=tls, credentials=("eventbank", "tls-e2e-pass")) as nats:
        system = start_system(
            nats_url=nats.url,
            extra_env={
                "EVENTBANK_NATS_TLS_CA": str(certificates.ca),
                "EVENTBANK_NATS_TLS_CERT": str(certificates.client_cert),
                "EVENTBANK_NATS_TLS_KEY": str(certificates.client_key),
                "EVENTBANK_NATS_TLS_HANDSHAKE_FIRST": "1",
            },
        )
        health = wait_for(
            lambda: (a := system.get("/healthz")).status == 200 and a, timeout=30, what="healthz"
        )
        assert health.body["nats"] == health.body["stream"] == "ok"
        token = system.customer_token("dora", "dora-the-explorer-1")
        operator = system.operator_token()
        source, target = system.funded_accounts(token, operator, "40.00")
        transfer = system.post(
            "/api/transfers/",
            {"from_account": source, "to_account": target, "amount": "15.00"},
            token=token,
            headers={"Idempotency-Key": "tls-1"},
        )
        assert transfer.status == 201 and transfer.body["status"] == "completed", transfer.body

        entries = system.get(
            f"/api/accounts/{target}/transactions/?min_position={transfer.body['position']}",
            token=token,
        )
        assert entries.status == 200, entries.body
        assert [e["amount"] for e in entries.body["results"]] == ["15.00"]


def test_a_child_that_dies_is_reported_and_restarted(start_system) -> None:
    system = start_system()
    first = system.child_pid("saga-recovery")
    os.kill(first, signal.SIGKILL)
    wait_for(
        lambda: system.child_pid("saga-recovery") != first, timeout=30, what="a new saga-recovery"
    )
    assert f"saga-recovery (pid {first}) exited with -9" in system.log.read_text()
