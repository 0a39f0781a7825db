"""The bench's plain-Django peer of ``POST /api/transfers/`` (``bench/orm/views.py``) moves money
exactly, refuses an overdraft and a request without a token, so ``make bench`` compares the API
with a transfer that is right. The view runs in ``bench.orm.check``'s process, on the bench's
settings: the suite's own never install it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CENTS = 12_34  # each of the check's transfers moves 12.34


def test_the_orm_peer_moves_money_exactly_and_refuses_an_overdraft() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.orm.check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)

    # Twenty transfers, each answered 201 with one ledger row and exactly its amount moved.
    assert [status for _, _, status in seen["transfers"]] == [201] * 20
    assert seen["entries"] == 20
    expected = list(seen["before"])
    for source, destination, _ in seen["transfers"]:
        expected[source] -= CENTS
        expected[destination] += CENTS
    assert seen["after_transfers"] == expected
    assert sum(seen["after_transfers"]) == sum(seen["before"])

    # More than the source holds: 409 insufficient_funds, and not a cent moved.
    assert seen["overdraft"] == [409, "insufficient_funds"]
    assert seen["after_overdraft"] == seen["after_transfers"]

    # The API's authentication guards it: no token, no transfer.
    assert seen["without_token"] == 401
