"""TransferFunds on the in-memory store: each outcome, and its step table."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledger.application import LedgerApplication
from ledger.domain import AccountNotFound, InvalidAmount, SameAccount
from ledger.saga import TransferFunds, credit_destination, debit_source, refund_source
from sagas.engine import SagaStatus
from tests.support import balances, funded


def test_the_saga_reads_as_its_steps_each_beside_its_compensation() -> None:
    assert [(s.name, s.action, s.compensation, s.pivot) for s in TransferFunds.steps] == [
        ("debit_source", debit_source, refund_source, False),
        ("credit_destination", credit_destination, None, True),
    ]


def test_a_transfer_completes_and_moves_the_money(ledger: LedgerApplication) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    transfer = ledger.transfer_funds(a, b, 400, reference="rent")
    assert transfer.status == SagaStatus.COMPLETED
    assert [(h["name"], h["status"]) for h in transfer.history] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "succeeded"),
    ]
    assert balances(ledger, a, b) == [600, 400]


def test_insufficient_funds_fails_the_first_step_and_nothing_moves(
    ledger: LedgerApplication,
) -> None:
    a, b = funded(ledger, 100), funded(ledger, 0)
    transfer = ledger.transfer_funds(a, b, 400)
    assert (transfer.status, transfer.failure_code) == (SagaStatus.FAILED, "insufficient_funds")
    assert balances(ledger, a, b) == [100, 0]


@pytest.mark.parametrize("refusal", ["frozen", "closed", "currency"])
def test_a_refused_credit_is_compensated_by_a_refund(
    ledger: LedgerApplication, refusal: str
) -> None:
    a = funded(ledger, 1000)
    b = funded(ledger, 0, currency="USD" if refusal == "currency" else "EUR")
    if refusal == "frozen":
        ledger.freeze_account(b, "review")
    if refusal == "closed":
        ledger.close_account(b)
    transfer = ledger.transfer_funds(a, b, 400)
    expected = {
        "frozen": "account_frozen",
        "closed": "account_closed",
        "currency": "currency_mismatch",
    }
    assert (transfer.status, transfer.failure_code) == (SagaStatus.COMPENSATED, expected[refusal])
    assert [(h["name"], h["status"]) for h in transfer.history] == [
        ("debit_source", "succeeded"),
        ("credit_destination", "failed"),
        ("debit_source", "compensated"),
    ]
    assert balances(ledger, a, b) == [1000, 0]


@pytest.mark.parametrize(
    ("make_args", "error"),
    [
        (lambda a, b: (a, a, 100), SameAccount),
        (lambda a, b: (a, b, 0), InvalidAmount),
        (lambda a, b: (a, b, -5), InvalidAmount),
        (lambda a, b: (uuid4(), b, 100), AccountNotFound),
        (lambda a, b: (a, uuid4(), 100), AccountNotFound),
    ],
)
def test_bad_requests_are_rejected_before_anything_starts(
    ledger: LedgerApplication, make_args, error
) -> None:
    a, b = funded(ledger, 1000), funded(ledger, 0)
    before = ledger.max_position()
    with pytest.raises(error):
        ledger.transfer_funds(*make_args(a, b))
    assert ledger.max_position() == before


def test_the_same_transfer_id_twice_is_one_transfer(ledger: LedgerApplication) -> None:
    a, b, transfer_id = funded(ledger, 1000), funded(ledger, 0), uuid4()
    first = ledger.transfer_funds(a, b, 300, transfer_id=transfer_id)
    second = ledger.transfer_funds(a, b, 300, transfer_id=transfer_id)
    assert first.id == second.id == transfer_id
    assert second.version == first.version
    assert balances(ledger, a, b) == [700, 300]
