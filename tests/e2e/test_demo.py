"""`make run` as a demo: an empty database is seeded, the banner says how to log in, and what
it says works."""

from __future__ import annotations

import re

import pytest

from ops.demo import ALICE_CURRENT, ALICE_SAVINGS, DEMO_PASSWORD, STAFF_USERNAME, demo_id
from tests.support import wait_for

pytestmark = pytest.mark.slow


def test_a_first_start_seeds_the_demo_and_the_banner_s_transfer_works(start_system) -> None:
    system = start_system(extra_env={"EVENTBANK_SEED_DEMO": "1"})
    wait_for(
        lambda: "Ctrl-C stops everything" in system.log.read_text(), timeout=30, what="the banner"
    )
    log = system.log.read_text()
    assert f"password {DEMO_PASSWORD}" in log and "seed_demo: created" in log
    curl = re.search(r"curl -s \S+/api/transfers/ .* -d '(\{.*\})'", log)
    assert curl is not None and str(ALICE_CURRENT) in curl.group(1)

    alice = system.token_for("alice", DEMO_PASSWORD)
    body = {"from_account": str(ALICE_CURRENT), "to_account": str(ALICE_SAVINGS), "amount": "5.00"}
    moved = system.post("/api/transfers/", body, token=alice)
    assert moved.status == 201 and moved.body["status"] == "completed", moved.body

    # The demo's large transfer has reached compliance through the relay and the stream.
    operator = system.token_for(STAFF_USERNAME, DEMO_PASSWORD)
    alerts = wait_for(
        lambda: system.get("/api/compliance/alerts/", token=operator).body["results"],
        timeout=30,
        what="the demo's large_transfer alert",
    )
    assert [(a["rule"], a["transfer_id"], a["amount"]) for a in alerts] == [
        ("large_transfer", str(demo_id("transfer:house")), "12000.00")
    ]
