"""Helpers the test layers share: funded accounts, balances, waiting for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from ledger.application import LedgerApplication

T = TypeVar("T")


def funded(
    ledger: LedgerApplication, cents: int, currency: str = "EUR", owner: str = "alice"
) -> UUID:
    account = ledger.open_account(owner, currency)
    if cents:
        ledger.deposit(account.id, cents, f"opening-{account.id}")
    return account.id


def balances(ledger: LedgerApplication, *ids: UUID) -> list[int]:
    return [ledger.get_account(i).balance for i in ids]


def wait_for(
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll until ``condition()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or condition}: last {last!r}"
    )
