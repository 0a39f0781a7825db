"""Transfers interrupted after every step boundary, on the real stores, finish exactly right.

The crash is simulated by raising from the runner's after-commit hook: the step is committed,
the process "dies" before it can take another. Recovery must then finish or compensate the
transfer with each balance exact: no double debit, no double credit, one refund at most.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.correlation import correlation_scope
from ledger.application import LedgerApplication
from ledger.saga import TransferFunds
from sagas.engine import DEADLINE_EXCEEDED, Saga, SagaRunner, SagaStatus
from tests.support import balances, funded


class SimulatedCrash(Exception):
    """Raised from the after-commit hook: the process 'dies' right after a commit."""


# The transitions a transfer commits, in order, for each outcome; a crash after any of them
# must leave a saga that recovery finishes with the right balances. (The start commits with
# the debit, the end with the last step or compensation.)
COMPLETING = ["succeeded:debit_source", "succeeded:credit_destination"]
COMPENSATING = ["succeeded:debit_source", "failed:credit_destination", "compensated:debit_source"]
FINISHING = {"succeeded:credit_destination", "compensated:debit_source"}


def crash_after(transition: str):
    def hook(saga: Saga, done: str) -> None:
        if done == transition:
            raise SimulatedCrash(transition)

    return hook


@pytest.mark.parametrize("transition", COMPLETING)
def test_a_crash_after_each_step_of_a_completing_transfer_is_recovered(
    ledger: LedgerApplication, transition: str
) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    with pytest.raises(SimulatedCrash):
        ledger.transfer_funds(a, b, 400, after_commit=crash_after(transition))
    recovered = ledger.recover_transfers()
    if transition in FINISHING:
        assert recovered == []  # the crash came after the end: nothing left to do
    else:
        (transfer,) = recovered
        assert ledger.get_transfer(transfer.id).status == SagaStatus.COMPLETED
    assert balances(ledger, a, b) == [600, 400]
    assert ledger.recover_transfers() == []


@pytest.mark.parametrize("transition", COMPENSATING)
def test_a_crash_after_each_step_of_a_compensating_transfer_is_recovered(
    ledger: LedgerApplication, transition: str
) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    ledger.freeze_account(b, "review")
    with pytest.raises(SimulatedCrash):
        ledger.transfer_funds(a, b, 400, after_commit=crash_after(transition))
    ledger.recover_transfers()
    assert ledger.unfinished_transfers() == []
    assert balances(ledger, a, b) == [1000, 0]
    refunds = [
        e for e in ledger.stored_events(a) if type(e).__name__ == "Credited" and e.kind == "refund"
    ]
    assert len(refunds) == 1


def test_a_transfer_past_its_deadline_before_the_pivot_is_compensated(
    ledger: LedgerApplication,
) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    with pytest.raises(SimulatedCrash):
        ledger.transfer_funds(a, b, 400, after_commit=crash_after("succeeded:debit_source"))
    (transfer_id,) = ledger.unfinished_transfers()
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    transfer = SagaRunner(ledger, TransferFunds, ledger, clock=late).run(transfer_id)
    assert (transfer.status, transfer.failure_code) == (SagaStatus.COMPENSATED, DEADLINE_EXCEEDED)
    assert balances(ledger, a, b) == [1000, 0]


def test_recovery_leaves_young_sagas_to_the_request_running_them(ledger: LedgerApplication) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    with pytest.raises(SimulatedCrash):
        ledger.transfer_funds(a, b, 400, after_commit=crash_after("succeeded:debit_source"))
    assert ledger.recover_transfers(older_than_seconds=3600) == []
    assert len(ledger.recover_transfers(older_than_seconds=0)) == 1


def test_a_recovered_transfer_keeps_the_correlation_it_started_in(
    ledger: LedgerApplication,
) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    with correlation_scope("request-7", causation_id="cmd-7"), pytest.raises(SimulatedCrash):
        ledger.transfer_funds(a, b, 400, after_commit=crash_after("succeeded:debit_source"))
    (transfer,) = ledger.recover_transfers()
    metas = [vars(e)["_meta"] for e in ledger.stored_events(transfer.id)]
    assert {m["correlation_id"] for m in metas} == {"request-7"}
    assert metas[-1]["causation_id"] == str(transfer.id)  # the recovery, on behalf of the saga
