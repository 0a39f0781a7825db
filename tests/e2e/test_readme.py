"""The docs' shell lines run as pasted: the README's walk and each pattern page's "Watch it",
extracted from the Markdown and run by bash (``-euo pipefail``) against a running system on the
demo's seeds, with ``PORT`` set as the README says."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compliance.domain import alert_id
from ops.demo import demo_id
from tests.e2e.conftest import ROOT, RunningSystem
from tests.support import wait_for

pytestmark = pytest.mark.slow


def shell_blocks(markdown: Path, section: str) -> list[str]:
    """The ```sh blocks of the section headed ``section`` (to the next heading of its level)."""
    text = markdown.read_text()
    start = text.index(f"\n{section}\n")
    level = section.split(" ", 1)[0]
    end = text.find(f"\n{level} ", start + len(section) + 2)
    body = text[start : end if end != -1 else len(text)]
    return re.findall(r"^```sh\n(.*?)^```$", body, re.MULTILINE | re.DOTALL)


def run(script: str, system: RunningSystem) -> str:
    """``script`` run by bash as a reader's terminal would, beside the system; its output."""
    port = system.base_url.rsplit(":", 1)[1]
    env = {**system.env, "PORT": port}  # no NATS_URL: commands find the embedded server
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert "<" not in script.replace("<<", ""), "a placeholder to fill in by hand"
    return ran.stdout


def answers(output: str) -> list[Any]:
    """Each JSON answer the script printed, one a line (the commands' own lines left out)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith(("{", "["))]


def test_the_readme_walk_and_every_pattern_page_run_as_pasted_on_the_demo(
    start_system: Callable[..., RunningSystem],
) -> None:
    system = start_system(extra_env={"EVENTBANK_SEED_DEMO": "1"})
    wait_for(lambda: system.get("/healthz").status == 200, timeout=60, what="a healthy system")
    (walk,) = shell_blocks(ROOT / "README.md", "## Try it: two accounts, a deposit, a transfer")
    readme(answers(run(walk, system)))

    (setup,) = shell_blocks(PATTERNS / "README.md", "## Before you watch")
    for page, check in PAGES.items():
        (watch,) = shell_blocks(PATTERNS / page, "## Watch it")
        check(run(f"{setup}\n{watch}", system))


def readme(answers: list[Any]) -> None:
    deposit, transfer, steps, events, accounts = answers  # one line per answer it prints
    assert deposit["balance"] == "100.00"
    assert transfer["status"] == "completed" and transfer["amount"] == "25.00"
    assert [(s["name"], s["status"]) for s in steps["steps"]] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "succeeded"),
    ]
    assert [e["type"] for e in events["results"]][-1] == "account.debited"
    balances = {a["id"]: a["balance"] for a in accounts["results"]}
    assert balances[transfer["from_account"]] == "75.00"
    assert balances[transfer["to_account"]] == "25.00"


def saga(output: str) -> None:
    order, refused, history, steps = answers(output)
    assert order["status"] == "confirmed"
    assert refused["code"] == "out_of_stock"
    assert history["status_history"][-1]["status"] == "confirmed"
    assert [s["status"] for s in steps["steps"]] == ["succeeded", "succeeded"]


def projections(output: str) -> None:
    withdrawal, accounts, entries, events = answers(output)
    assert withdrawal["balance"] in {a["balance"] for a in accounts["results"]}
    newest = entries["results"][0]
    assert (newest["kind"], newest["direction"], newest["amount"]) == (
        "withdrawal",
        "debit",
        "20.00",
    )
    assert newest["balance_after"] == withdrawal["balance"]
    assert events["results"][-1]["type"] == "account.debited"
    assert output.count("rebuilt and swapped in") == 2 and "replayed since" in output


def compliance(output: str) -> None:
    open_alerts, transfer, large, escalated, frozen, unfrozen = answers(output)
    house = alert_id(demo_id("transfer:house"), "large_transfer")  # the demo's
    assert str(house) in {a["id"] for a in open_alerts["results"]}
    assert transfer["status"] == "completed"
    assert len(large["results"]) >= 1
    assert escalated["status"] == "escalated"
    assert frozen["code"] == "account_frozen"
    assert unfrozen["status"] == "open"


def hybrid(output: str) -> None:
    demo_order, cancel, history, caught_up = answers(output)
    assert [s["status"] for s in demo_order["status_history"]][-1] == "cancelled"
    assert cancel["status"] == "cancelled"
    if history.get("code"):  # the projection has not seen the order yet
        assert history["code"] == "projection_behind"
    else:  # the log has the cancellation at once, whatever the projection says
        assert history["status_history"][-1]["status"] == "cancelled"
    assert caught_up["status"] == "cancelled"


def outbox(output: str) -> None:
    transfer, listed = answers(output)
    assert transfer["status"] == "completed"
    assert transfer["id"] in {t["id"] for t in listed["results"]}


def batches(output: str) -> None:
    batch, read_back, linked, not_mine = answers(output)
    assert [(t["status"], t.get("code")) for t in batch["transfers"]] == [
        ("completed", None),
        ("failed", "insufficient_funds"),
        ("completed", None),
    ]
    assert read_back["transfers"] == batch["transfers"]
    assert [t["code"] for t in linked["transfers"]] == ["linked_event_failed", "insufficient_funds"]
    assert not_mine["code"] == "not_found"


def live(output: str) -> None:
    transfer, completed, resumed = answers(output)
    assert transfer["status"] == "completed"
    assert (completed["type"], completed["aggregate_id"]) == ("transfer.completed", transfer["id"])
    assert completed["data"]["amount"] == "1.00"
    assert resumed == completed  # the resumed stream's last transfer event: the same envelope


PATTERNS = ROOT / "docs" / "patterns"
PAGES: dict[str, Callable[[str], None]] = {
    "1-saga-with-event-confirmation.md": saga,
    "2-event-sourcing-and-projections.md": projections,
    "4-hybrid-read-model.md": hybrid,
    "5-partial-failure-and-the-outbox.md": outbox,
    "6-sagas-in-lockstep.md": batches,
    "7-live-updates.md": live,
    "3-compliance-notification.md": compliance,  # last: it freezes alice's account a while
}
