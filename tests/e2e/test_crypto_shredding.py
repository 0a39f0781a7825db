"""The proof of forgetting (decision 0006), on the running system: a customer with distinctive
personal data is forgotten, and then every byte the system keeps is searched for that data.

What is searched, once the system has stopped: a ``pg_dump`` of its PostgreSQL database (on the
PostgreSQL leg: Django's tables and every event store are in it), every SQLite file of its data
directory with its WAL (on the SQLite leg), the whole JetStream store directory, and every line
the system and the operators' commands wrote. The values are searched as raw bytes (they are
ASCII, so every store would hold them as these bytes if it held them in clear); the customer's
data key too, in every form a dump or a file would hold it. Nothing is found. What must stay
stays: the customer's accounts, balances and transfer, and the projections rebuild.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest

from tests.e2e.conftest import RunningSystem
from tests.support import wait_for

pytestmark = pytest.mark.slow


def lag(system: RunningSystem, operator: str, pattern: str) -> list[float]:
    """The values of ``/metrics`` lines matching ``pattern`` (a regular expression)."""
    request = urllib.request.Request(system.base_url + "/metrics")
    request.add_header("Authorization", f"Token {operator}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return [float(v) for v in re.findall(rf"^{pattern} (\S+)$", text, re.MULTILINE)]


def caught_up(system: RunningSystem, operator: str, *subscribers: str) -> bool:
    """The relay has published the customers log, and these subscribers have applied it."""
    relay = lag(system, operator, r'eventbank_relay_lag_events\{source="customers"\}')
    applied = [
        lag(system, operator, rf'eventbank_subscriber_lag_events\{{[^}}]*subscriber="{s}"[^}}]*\}}')
        for s in subscribers
    ]
    return relay == [0.0] and all(values and max(values) == 0.0 for values in applied)


def stop(system: RunningSystem) -> None:
    """Stop every process of the system, so each file it wrote is complete and closed."""
    os.killpg(system.process.pid, signal.SIGTERM)
    system.process.wait(60)


def files_under(directory: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in directory.rglob(pattern) if p.is_file())


def test_a_forgotten_customer_s_personal_data_is_nowhere(start_system, tmp_path: Path) -> None:
    tag = uuid4().hex[:10]  # so that nothing but this test could hold these values
    profile = {
        "full_name": f"Ottoline Brackenbury-Quist {tag}",
        "email": f"ottoline.{tag}@example.net",
        "address": f"4 Marram Row {tag}, Saltfleet Haven",
        "phone": f"+44 7700 9{int(tag, 16) % 10**5:05d}",
    }
    refused_email = f"not-an-address-{tag}"
    system = start_system()
    customer = system.customer_token(f"c{tag}", "marram-row-42")
    other = system.customer_token(f"d{tag}", "marram-row-43")
    operator = system.operator_token()
    full, empty = system.funded_accounts(customer, operator, "100.00")
    to = system.post("/api/accounts/", {}, token=other).body["id"]
    transfer = system.post(
        "/api/transfers/",
        {"from_account": full, "to_account": to, "amount": "25.00"},
        token=customer,
    )
    assert transfer.status == 201, transfer.body

    written = system.request("PUT", "/api/me/profile/", profile, token=customer)
    assert written.status == 200 and written.body["full_name"] == profile["full_name"]
    refused = system.request(
        "PUT", "/api/me/profile/", {**profile, "email": refused_email}, token=customer
    )
    assert refused.status == 400 and refused.body["code"] == "invalid"
    wait_for(
        lambda: caught_up(system, operator, "projection:profiles"),
        timeout=60,
        what="the profile relayed and projected",
    )
    key = system.manage(
        "shell", "-v", "0", "-c",
        f"from customers.models import CustomerKey; "
        f"print(bytes(CustomerKey.objects.get(customer='c{tag}').secret).hex())",
    ).strip()  # fmt: skip
    assert len(key) == 64

    path = f"/api/customers/c{tag}/forget/"
    forgotten = system.post(path, token=operator)
    assert forgotten.status == 200, forgotten.body
    assert [forgotten.body[k] for k in profile] == [None] * 4 and forgotten.body["forgotten_at"]
    again = system.post(path, token=operator)
    assert (again.status, again.body) == (200, forgotten.body)

    def retired() -> bool:
        accounts = [system.get(f"/api/accounts/{a}/", token=operator).body for a in (full, empty)]
        return [a.get("status") for a in accounts] == ["frozen", "closed"]

    wait_for(retired, timeout=60, what="the ledger to retire the accounts")
    wait_for(
        lambda: caught_up(system, operator, "projection:profiles", "ledger:forgotten-customers"),
        timeout=60,
        what="customer.forgotten relayed and applied",
    )

    # What remains: the money and its history, as they were; the profile, erased.
    balances = [
        system.get(f"/api/accounts/{a}/", token=operator).body["balance"] for a in (full, to)
    ]
    assert balances == ["75.00", "25.00"]
    moved = system.get(f"/api/transfers/{transfer.body['id']}/", token=operator).body
    assert (moved["status"], moved["amount"]) == ("completed", "25.00")
    read = system.get(f"/api/customers/c{tag}/profile/", token=operator)
    assert read.status == 200 and [read.body[k] for k in profile] == [None] * 4
    assert system.get("/api/me/profile/", token=customer).status == 401  # the login is gone

    # The operators' commands, after the forgetting: rebuilds from the stream and the stores,
    # and a replay; each succeeds, and whatever it prints is searched with the logs.
    outputs = [
        system.manage("rebuild_projection", "profiles"),
        system.manage("rebuild_projection", "profiles", "--source", "store"),
        system.manage("rebuild_projection", "accounts"),
        system.manage("run_subscriber", "projection:profiles", "--source", "store"),
        system.manage("forget_customer", f"c{tag}"),
    ]
    assert "profiles: rebuilt and swapped in" in outputs[0] and "forgotten at" in outputs[-1]
    assert system.get(f"/api/accounts/{full}/", token=operator).body["balance"] == "75.00"
    stop(system)

    data_dir = Path(system.env["EVENTBANK_DATA_DIR"])
    searched: dict[str, bytes] = {}
    if "DATABASE_URL" in system.env:  # the PostgreSQL leg: every table is in this database
        dump = subprocess.run(
            ["pg_dump", "--no-owner", system.env["DATABASE_URL"]],
            capture_output=True, check=True, timeout=120,
        ).stdout  # fmt: skip
        assert b"customers_events" in dump and b"customers_customerkey" in dump
        searched["pg_dump"] = dump
    for sqlite in files_under(data_dir, "*.sqlite3*"):
        searched[str(sqlite.relative_to(data_dir))] = sqlite.read_bytes()
    nats = files_under(data_dir / "nats")
    assert nats, "the JetStream store is where run_all keeps it"
    for file in nats:
        searched[str(file.relative_to(data_dir))] = file.read_bytes()
    searched["run_all's log"] = system.log.read_bytes()
    searched["the commands' output"] = "\n".join(outputs).encode()
    assert "DATABASE_URL" in system.env or any(n.endswith(".sqlite3") for n in searched)

    # The search finds what is there: the customer's username (in the accounts' events, in the
    # logs of its requests) is in the stores, the stream and the log.
    assert f"c{tag}".encode() in b"".join(v for k, v in searched.items() if k.startswith("nats"))
    assert f"c{tag}".encode() in searched["run_all's log"]
    secret = bytes.fromhex(key)
    forms = {
        **{name: value.encode() for name, value in profile.items()},
        "the refused email": refused_email.encode(),
        "the data key": secret,
        "the data key, as hex": key.encode(),
    }
    found = {
        (what, where) for what, needle in forms.items() for where, haystack in searched.items()
        if needle in haystack
    }  # fmt: skip
    print(
        f"\nsearched {len(searched)} files and streams, {sum(map(len, searched.values())):,} "
        f"bytes: {', '.join(sorted(searched))}\nfor {', '.join(forms)}: found {sorted(found)}"
    )
    assert found == set()
