"""``tuning.flat_copies``: a flat copy of an account or a saga is a whole copy — equal, and
sharing no container with the original — and a command on the copy leaves the original as it
was."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ledger.domain import Account
from ledger.saga import Transfer, TransferBatch
from tuning.flat_copies import flat_deepcopy, install

CASH = uuid4()  # the cash account's id: the other leg of a deposit or withdrawal


@pytest.fixture
def flat() -> Iterator[None]:
    install(Account, Transfer)
    yield
    del Account.__deepcopy__  # type: ignore[attr-defined]
    del Transfer.__deepcopy__  # type: ignore[attr-defined]


def containers(obj: object) -> dict[str, int]:
    return {name: id(v) for name, v in vars(obj).items() if isinstance(v, dict | list | set)}


def test_a_flat_copy_is_a_whole_copy(flat: None) -> None:
    account = Account(id=uuid4(), owner="alice", currency="EUR")
    account.deposit(500, "seed", CASH)
    copied = copy.deepcopy(account)
    assert vars(copied) == vars(account)
    assert set(containers(copied).values()).isdisjoint(containers(account).values())
    copied.withdraw(200, "w1", CASH)
    assert (account.balance, copied.balance) == (500, 300)
    assert "debit:w1" not in str(vars(account))


def test_a_saga_copy_shares_no_list(flat: None) -> None:
    transfer = Transfer(
        id=uuid4(), from_account=uuid4(), to_account=uuid4(), amount=100, currency="EUR",
        reference="", deadline=datetime.now(UTC),
    )  # fmt: skip
    copied = flat_deepcopy(transfer, {})
    assert vars(copied) == vars(transfer)
    assert set(containers(copied).values()).isdisjoint(containers(transfer).values())


def test_a_batch_records_copy_shares_no_list() -> None:
    batch = TransferBatch(
        id=uuid4(), transfer_ids=[uuid4(), uuid4()], linked=True, submitted_by="a"
    )
    copied = flat_deepcopy(batch, {})
    assert vars(copied) == vars(batch) and copied.transfer_ids is not batch.transfer_ids
