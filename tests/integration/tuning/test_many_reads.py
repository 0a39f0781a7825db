"""Many aggregates read in one query (``tuning/many_reads.py``) are the aggregates the library's
own ``get`` reads one by one: after writes by this process, by another process's application
(which this one's cache never saw), with ids not cached yet, and ids of nothing."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from config.stores import eventstore_env
from kernel.application import ReadsMany
from ledger.application import LedgerApplication
from tests.support import funded
from tuning.applications import tuned
from tuning.recorder import OneRoundTripRecorder

TUNED = ["recorder", "aggregate_cache", "many_reads"]


@pytest.fixture
def ledger_url(store_urls: dict[str, str]) -> str:
    url = store_urls["ledger"]
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (elsewhere the plain reads are used)")
    return url


@pytest.fixture
def ledgers(ledger_url: str) -> Iterator[tuple[LedgerApplication, LedgerApplication]]:
    """Two tuned ledgers on one store, as two web workers would have: each its own cache."""
    apps = [
        tuned(LedgerApplication, TUNED)(env=eventstore_env(ledger_url, tuning=TUNED))
        for _ in range(2)
    ]
    yield apps[0], apps[1]
    for app in apps:
        app.close()


def as_read(aggregate: object) -> dict[str, object]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_many_reads_equal_the_library_s_reads_one_by_one(
    ledgers: tuple[LedgerApplication, LedgerApplication],
) -> None:
    ours, theirs = ledgers
    assert isinstance(ours.recorder, OneRoundTripRecorder)
    accounts = [funded(ours, 10_000) for _ in range(5)]
    ours.load_many(accounts)  # cached here now
    for account in accounts[:3]:  # moved by the other worker: our cache has not seen it
        theirs.deposit(account, 7, f"elsewhere-{account}")
        theirs.withdraw(account, 3, f"elsewhere-out-{account}")
    ours.deposit(accounts[3], 11, "here")
    uncached = funded(theirs, 500)
    nothing = uuid4()

    wanted = [*accounts, uncached, nothing]
    many = ours.load_many(wanted)
    assert set(many) == set(wanted) - {nothing}
    for account_id, account in many.items():
        assert as_read(account) == as_read(ours.repository.get(account_id))
    assert [many[a].balance for a in accounts] == [10_004] * 3 + [10_011, 10_000]
    assert ReadsMany.load_many(ours, wanted).keys() == many.keys()


def test_an_aggregate_read_many_is_a_copy_a_command_may_change(
    ledgers: tuple[LedgerApplication, LedgerApplication],
) -> None:
    ours, _ = ledgers
    account = funded(ours, 100)
    first = ours.load_many([account])[account]
    first.withdraw(100, "changed, never saved", ours.cash_account("EUR").id)
    again = ours.load_many([account])[account]
    assert (first.balance, again.balance) == (0, 100)
