"""Eight threads transferring among a few accounts: money conserved, nothing negative, all ended.

Two transfers debiting one account race for the account's next version; the loser's step is
retried from fresh reads. No conflict may surface as an error.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from uuid import UUID

from ledger.application import LedgerApplication
from sagas.engine import SagaStatus
from tests.support import balances, funded

THREADS, TRANSFERS_PER_THREAD, ACCOUNTS = 8, 25, 4


def test_concurrent_transfers_conserve_money_and_all_end(ledger: LedgerApplication) -> None:
    accounts = [funded(ledger, 10_000) for _ in range(ACCOUNTS)]
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(TRANSFERS_PER_THREAD):
            source, destination = rng.sample(accounts, 2)
            try:
                transfer = ledger.transfer_funds(source, destination, rng.randint(1, 3_000))
            except BaseException as exc:  # any error at all fails the test below
                with lock:
                    errors.append(exc)
                continue
            with lock:
                outcomes[str(transfer.status)] += 1

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert sum(outcomes.values()) == THREADS * TRANSFERS_PER_THREAD
    assert set(outcomes) <= {SagaStatus.COMPLETED, SagaStatus.FAILED}
    final = balances(ledger, *accounts)
    assert sum(final) == ACCOUNTS * 10_000
    assert min(final) >= 0
    assert ledger.unfinished_transfers() == []
    assert_history_replays_to(ledger, accounts)


def assert_history_replays_to(ledger: LedgerApplication, accounts: list[UUID]) -> None:
    """Each balance equals the sum of its own recorded entries."""
    for account_id in accounts:
        total = 0
        for e in ledger.stored_events(account_id):
            if type(e).__name__ == "Credited":
                total += e.amount
            elif type(e).__name__ == "Debited":
                total -= e.amount
        assert total == ledger.get_account(account_id).balance
