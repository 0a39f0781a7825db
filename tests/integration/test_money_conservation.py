"""Property: any sequence of deposits, withdrawals and transfers — failing ones included —
keeps every balance non-negative and equal to deposits minus withdrawals in total."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.container import build_container
from ledger.application import LedgerApplication
from ledger.domain import LedgerError
from sagas.engine import SagaStatus
from tests.conftest import fresh_stores

operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(0, 3), st.integers(1, 5_000)),
        st.tuples(st.just("withdraw"), st.integers(0, 3), st.integers(1, 5_000)),
        st.tuples(st.just("transfer"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 5_000)),
        st.tuples(st.just("freeze"), st.integers(0, 3)),
        st.tuples(st.just("unfreeze"), st.integers(0, 3)),
    ),
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_money_is_conserved_and_never_negative(
    tmp_path: Path, stores_database: str | None, ops: list[tuple]
) -> None:
    with fresh_stores(tmp_path, stores_database) as urls:
        container = build_container(urls)
        try:
            check_conservation(container.ledger, ops)
        finally:
            container.close()


def check_conservation(ledger: LedgerApplication, ops: list[tuple]) -> None:
    accounts = [ledger.open_account(f"c{i}", "USD" if i == 3 else "EUR").id for i in range(4)]
    cash = [ledger.cash_account(currency).id for currency in ("EUR", "USD")]
    outside = 0  # money that entered minus money that left the system
    for op in ops:
        kind, *args = op
        try:
            if kind == "deposit":
                ledger.deposit(accounts[args[0]], args[1], str(uuid4()))
                outside += args[1]
            elif kind == "withdraw":
                ledger.withdraw(accounts[args[0]], args[1], str(uuid4()))
                outside -= args[1]
            elif kind == "transfer":
                transfer = ledger.transfer_funds(accounts[args[0]], accounts[args[1]], args[2])
                assert transfer.is_finished
                assert transfer.status != SagaStatus.COMPENSATING
            elif kind == "freeze":
                ledger.freeze_account(accounts[args[0]], "property test")
            else:
                ledger.unfreeze_account(accounts[args[0]])
        except LedgerError:
            pass  # refused: must have changed nothing, which the totals below check
        balances = [ledger.get_account(a).balance for a in accounts]
        assert min(balances) >= 0
        assert sum(balances) == outside
        # Double entry: the cash accounts hold the other side of what came in and went out.
        assert sum(balances) + sum(ledger.get_account(c).balance for c in cash) == 0
    assert ledger.unfinished_transfers() == []
