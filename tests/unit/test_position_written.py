"""A write's reply carries the position it wrote: known from the save, not read back as MAX()."""

from __future__ import annotations

from kernel.correlation import correlation_scope
from ledger.application import LedgerApplication
from sagas.engine import SagaStatus


def test_a_request_is_given_its_own_write_not_a_later_writers(ledger: LedgerApplication) -> None:
    with correlation_scope():  # one request
        account = ledger.open_account("alice", "EUR")
        with correlation_scope():  # another request, whose write lands after
            ledger.open_account("bob", "EUR")
        mine = ledger.position_written()
    assert mine < ledger.max_position()
    (notification,) = ledger.notifications_after(mine - 1, 1)
    assert notification.originator_id == account.id


def test_a_saga_is_given_the_position_of_its_last_write(ledger: LedgerApplication) -> None:
    alice, bob = ledger.open_account("alice", "EUR"), ledger.open_account("bob", "EUR")
    ledger.deposit(alice.id, 500, "seed")
    with correlation_scope():
        transfer = ledger.transfer_funds(alice.id, bob.id, 200)
        position = ledger.position_written()
    assert transfer.status == SagaStatus.COMPLETED
    (last,) = ledger.notifications_after(position - 1, 1)
    assert (last.originator_id, last.originator_version) == (transfer.id, transfer.version)
    assert position == ledger.max_position()


def test_a_request_that_wrote_nothing_is_given_the_head(ledger: LedgerApplication) -> None:
    ledger.open_account("alice", "EUR")
    with correlation_scope():
        assert ledger.position_written() == ledger.max_position() == 1
    assert ledger.position_written() == 1  # outside any request: the head too
