"""``recover_sagas --every``, the supervisor's saga-recovery service, rides out its database
restarting: what a crash leaves after the restart is recovered by the same process. (The fault
suite once saw it die of exactly that; tests/unit/test_recovery_service.py holds the rule that a
round meeting an outage is skipped, without a server.)"""

from __future__ import annotations

import signal
import time

import psycopg
import pytest

from config.container import build_container
from sagas.engine import Saga, SagaStatus
from tests.conftest import CONTEXTS, PrivatePostgres
from tests.integration.conftest import Commands
from tests.support import balances, funded, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class SimulatedCrash(Exception):
    """Raised from the after-commit hook: the process 'dies' right after the debit commits."""


def crash_after_the_debit(saga: Saga, done: str) -> None:
    if done == "succeeded:debit_source":
        raise SimulatedCrash(done)


def test_saga_recovery_rides_out_a_postgres_restart(
    private_postgres: PrivatePostgres, commands: Commands, tmp_path
) -> None:
    stores = dict.fromkeys(CONTEXTS, private_postgres.url())
    with psycopg.connect(private_postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE django")
    env = {
        **commands.env,
        **{f"{c.upper()}_EVENTSTORE_URL": url for c, url in stores.items()},
        "DATABASE_URL": private_postgres.url("django"),
    }
    Commands(env).run("migrate", "-v0")
    container = build_container(stores)
    log = tmp_path / "recovery.log"
    recovery = Commands(env).start("recover_sagas", "--every", "0.2", "--older-than", "0", log=log)
    ledger = container.ledger

    def crash_a_transfer(what: str) -> None:
        a, b = funded(ledger, 1000), funded(ledger, 0)
        with pytest.raises(SimulatedCrash):
            ledger.transfer_funds(a, b, 400, after_commit=crash_after_the_debit)
        (unfinished,) = ledger.unfinished_transfers()
        wait_for(
            lambda: ledger.get_transfer(unfinished).status == SagaStatus.COMPLETED,
            timeout=30, what=what,
        )  # fmt: skip
        assert balances(ledger, a, b) == [600, 400]

    try:
        crash_a_transfer("a transfer the crash left, recovered before the restart")
        # As the fault suite does it: every connection cut, and none taken for a while.
        private_postgres.pg_ctl("-m", "immediate", "stop")
        time.sleep(3.0)
        private_postgres.start()
        wait_until_it_answers(ledger)
        crash_a_transfer("a transfer the crash left, recovered after the restart")
        assert recovery.poll() is None, f"recover_sagas exited: {log.read_text()[-2000:]}"
    finally:
        recovery.send_signal(signal.SIGTERM)
        recovery.wait(30)
        container.close()


def wait_until_it_answers(ledger) -> None:
    """The test's own pool meets the restart too: its first reads may fail once."""

    def answers() -> bool:
        try:
            ledger.unfinished_transfers()
        except Exception:
            return False
        return True

    wait_for(answers, timeout=30, what="the store answering after the restart")
