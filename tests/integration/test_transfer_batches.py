"""Batches of transfers on the real stores: sagas in lockstep, a commit per round, and each
transfer exactly as it would have ended alone; interrupted after any round, recovered whole.

The crash is simulated as in ``test_transfer_recovery``: the after-commit hook raises once the
round is committed, before the runner can make another.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from uuid import UUID

import pytest

from ledger.application import LedgerApplication, TransferInstruction
from sagas.engine import LINKED_EVENT_FAILED, Saga, SagaStatus
from tests.integration.test_transfer_concurrency import assert_history_replays_to
from tests.support import balances, funded


class SimulatedCrash(Exception):
    pass


def crash_after(transition: str) -> Callable[[Saga, str], None]:
    def hook(saga: Saga, done: str) -> None:
        if done == transition:
            raise SimulatedCrash(done)

    return hook


def pay(source: UUID, destination: UUID, amount: int, reference: str = "") -> TransferInstruction:
    return TransferInstruction(source, destination, amount, reference)


def test_two_transfers_from_one_account_see_each_other_in_a_batch(
    ledger: LedgerApplication,
) -> None:
    a, b, c = funded(ledger, 500), funded(ledger, 0), funded(ledger, 0)
    batch, transfers = ledger.transfer_batch([pay(a, b, 400), pay(a, c, 400), pay(a, c, 100)])
    assert [t.status for t in transfers] == ["completed", "failed", "completed"]
    assert transfers[1].failure_code == "insufficient_funds"
    assert balances(ledger, a, b, c) == [0, 400, 100]
    assert [t.batch_id for t in transfers] == [batch.id] * 3
    stored, read_back = ledger.get_transfer_batch(batch.id)
    assert stored.transfer_ids == [t.id for t in transfers]
    assert [t.status for t in read_back] == ["completed", "failed", "completed"]


def test_a_batch_may_move_one_account_past_two_snapshot_intervals_in_a_round(
    ledger: LedgerApplication,
) -> None:
    """250 debits of one account in one round pass two multiples of its snapshot interval:
    the round commits, and the account stays the sum of its entries."""
    a, b = funded(ledger, 1000), funded(ledger, 0)
    _, transfers = ledger.transfer_batch([pay(a, b, 1) for _ in range(250)])
    assert {t.status for t in transfers} == {"completed"}
    assert balances(ledger, a, b) == [750, 250]
    assert_history_replays_to(ledger, [a, b])


def test_a_linked_batch_moves_no_money_when_one_transfer_is_refused(
    ledger: LedgerApplication,
) -> None:
    a, b, frozen = funded(ledger, 1000), funded(ledger, 0), funded(ledger, 0)
    ledger.freeze_account(frozen, "review")
    _, transfers = ledger.transfer_batch(
        [pay(a, b, 100), pay(a, frozen, 100), pay(a, b, 200)], linked=True
    )
    assert [t.status for t in transfers] == [SagaStatus.COMPENSATED] * 3
    assert [t.failure_code for t in transfers] == [
        LINKED_EVENT_FAILED,
        "account_frozen",
        LINKED_EVENT_FAILED,
    ]
    assert balances(ledger, a, b, frozen) == [1000, 0, 0]


def test_a_batch_given_its_id_again_resumes_and_moves_nothing_twice(
    ledger: LedgerApplication,
) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    first, transfers = ledger.transfer_batch([pay(a, b, 300), pay(a, b, 300)])
    _, again = ledger.transfer_batch([pay(a, b, 300), pay(a, b, 300)], batch_id=first.id)
    assert [t.id for t in again] == [t.id for t in transfers]
    assert [t.version for t in again] == [t.version for t in transfers]
    assert balances(ledger, a, b) == [400, 600]


# The rounds this batch commits, each named by a transition it holds: every transfer debited
# (with the starts and the batch's record); the credits, one of them refused; the refund. A
# linked batch commits no credit: its second round fails every transfer at the credit.
ROUNDS = {
    False: ["succeeded:debit_source", "succeeded:credit_destination", "compensated:debit_source"],
    True: ["succeeded:debit_source", "failed:credit_destination", "compensated:debit_source"],
}


@pytest.mark.parametrize(
    ("linked", "transition"), [(linked, t) for linked, rounds in ROUNDS.items() for t in rounds]
)
def test_a_batch_interrupted_after_any_round_is_recovered_as_a_batch(
    ledger: LedgerApplication, transition: str, linked: bool
) -> None:
    a, b, frozen = funded(ledger, 1000), funded(ledger, 0), funded(ledger, 0)
    ledger.freeze_account(frozen, "review")
    instructions = [pay(a, b, 100), pay(a, frozen, 100), pay(a, b, 200)]
    with pytest.raises(SimulatedCrash):
        ledger.transfer_batch(instructions, linked=linked, after_commit=crash_after(transition))
    ledger.recover_transfers()
    assert ledger.unfinished_transfers() == []
    if linked:
        assert balances(ledger, a, b, frozen) == [1000, 0, 0]
    else:
        assert balances(ledger, a, b, frozen) == [700, 300, 0]
    refunds = [
        e for e in ledger.stored_events(a) if type(e).__name__ == "Credited" and e.kind == "refund"
    ]
    assert len(refunds) == (3 if linked else 1)
    assert_history_replays_to(ledger, [a, b, frozen])


def test_resuming_one_transfer_of_a_linked_batch_resumes_the_batch(
    ledger: LedgerApplication,
) -> None:
    a, b, frozen = funded(ledger, 1000), funded(ledger, 0), funded(ledger, 0)
    with pytest.raises(SimulatedCrash):
        ledger.transfer_batch(
            [pay(a, b, 100), pay(a, frozen, 100)],
            linked=True,
            after_commit=crash_after("succeeded:debit_source"),
        )
    ledger.freeze_account(frozen, "review")  # the second credit will now be refused
    first, second = ledger.unfinished_transfers()
    assert ledger.resume_transfer(first).status == SagaStatus.COMPENSATED
    assert ledger.get_transfer(second).status == SagaStatus.COMPENSATED
    assert balances(ledger, a, b, frozen) == [1000, 0, 0]


def test_batches_racing_single_transfers_on_the_same_accounts_conserve_money(
    ledger: LedgerApplication,
) -> None:
    """Single transfers move the batch's accounts between its rounds' reads and commits: its
    rounds lose version races and are made again; no step is lost or doubled."""
    accounts = [funded(ledger, 10_000) for _ in range(4)]
    errors: list[BaseException] = []
    done: list[str] = []

    def singles(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(30):
            source, destination = rng.sample(accounts, 2)
            try:
                done.append(ledger.transfer_funds(source, destination, rng.randint(1, 500)).status)
            except BaseException as exc:
                errors.append(exc)

    def batches(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(5):
            pairs = [rng.sample(accounts, 2) for _ in range(20)]
            batch = [pay(a, b, rng.randint(1, 2_000)) for a, b in pairs]
            try:
                done.extend(t.status for t in ledger.transfer_batch(batch)[1])
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=singles, args=(s,)) for s in range(3)]
    threads += [threading.Thread(target=batches, args=(s,)) for s in range(10, 12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert len(done) == 3 * 30 + 2 * 5 * 20
    assert set(done) <= {SagaStatus.COMPLETED, SagaStatus.FAILED}
    final = balances(ledger, *accounts)
    assert sum(final) == 40_000 and min(final) >= 0
    assert ledger.unfinished_transfers() == []
    assert_history_replays_to(ledger, accounts)
