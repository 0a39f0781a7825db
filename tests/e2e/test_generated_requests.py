"""The running system against its own OpenAPI schema, as an outsider tests it: schemathesis with
every check it has (server errors, status codes, content types, response schemas, schema-valid
requests accepted and schema-violating ones refused, authentication ignored, unsupported
methods, ...) in every phase — the schema's examples, its boundaries (coverage), generated
requests (fuzzing) and stateful sequences along the schema's links (open an account, pay into
it, transfer from it, read the transfer, ...) — as a customer and as staff, on the demo seeds.

What the schema cannot say is told to schemathesis in ``schemathesis/`` (``hooks.py``,
``schemathesis.toml``), each with its reason. A failure prints schemathesis's own report, with a
curl line to reproduce every finding.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.slow

SETTINGS = Path(__file__).parent / "schemathesis"
EXAMPLES_PER_OPERATION = 20
SEED = 1  # the same requests every run; another seed finds other ones


def test_schemathesis_finds_nothing_as_a_customer_or_as_staff(start_system) -> None:
    system = start_system(
        extra_env={
            "EVENTBANK_SEED_DEMO": "1",
            # Stateful sequences write faster than any client should: with the default rate
            # most of them would be 429 (documented, and accepted) and test nothing else.
            "EVENTBANK_WRITE_RATE": "1000000/min",
            # Generated positions lie far beyond any write; a short wait keeps the run short.
            "EVENTBANK_READ_YOUR_WRITES_TIMEOUT": "0.5",
        }
    )
    reports = {
        user: run_schemathesis(system.base_url, system.token_for(user, "eventbank-demo"))
        for user in ("alice", "operator")
    }
    failed = {user: report for user, report in reports.items() if report.returncode != 0}
    assert not failed, "\n\n".join(
        f"--- as {user} (exit {report.returncode}):\n{report.stdout[-20_000:]}"
        for user, report in failed.items()
    )


def run_schemathesis(base_url: str, token: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file", str(SETTINGS / "schemathesis.toml"),
        "run", f"{base_url}/api/schema/?format=json",
        "--checks", "all",
        "--exclude-checks", "not_a_server_error",  # hooks.py's no_server_error instead
        "--header", f"Authorization: Token {token}",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", str(SEED),
        "--no-color",
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis.hooks",
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
