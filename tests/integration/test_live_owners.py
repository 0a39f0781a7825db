"""Who each event concerns, as each context says for live updates (``ledger/live.py``,
``orders/live.py``, composed in ``config/live.py``): from the envelope when it says, from what
the stream said before, or from the stores for what began before anyone listened — and on the
event loop only when no store need be read."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from config.container import Container
from config.live import known_owners, owners
from tests.support import funded

pytestmark = pytest.mark.django_db


def envelope(event_type: str, source: str, aggregate_id: UUID, **data: Any) -> dict[str, Any]:
    return {"type": event_type, "source": source, "aggregate_id": str(aggregate_id), "data": data}


def test_a_transfer_begun_before_anyone_listened_is_read_from_the_store_once(
    container: Container,
) -> None:
    ledger = container.ledger
    current, savings = funded(ledger, 1_000, owner="ada"), funded(ledger, 0, owner="ben")
    transfer = ledger.transfer_funds(current, savings, 100)
    step = envelope("transfer.step_succeeded", "ledger", transfer.id, step="credit_destination")
    assert known_owners(step) is None  # its accounts are in the store, not in the envelope
    assert owners([step]) == [frozenset({"ada", "ben"})]
    assert known_owners(step) == frozenset({"ada", "ben"})  # remembered


def test_what_the_stream_says_first_answers_what_follows_without_a_read(
    container: Container,
) -> None:
    transfer, order, placement = uuid4(), uuid4(), uuid4()  # in no store: nothing to read
    first, second = uuid4(), uuid4()
    opened = [
        envelope("account.opened", "ledger", first, owner="cleo", currency="EUR"),
        envelope("account.opened", "ledger", second, owner="dan", currency="EUR"),
    ]
    started = envelope(
        "transfer.started", "ledger", transfer, from_account=str(first), to_account=str(second)
    )
    created = envelope("order.created", "orders", order, customer="cleo", items=[])
    saga = envelope("order_placement.started", "orders", placement, customer="cleo",
                    order_id=str(order))  # fmt: skip
    for said in [*opened, started, created, saga]:
        assert known_owners(said) is not None
    assert known_owners(envelope("transfer.step_succeeded", "ledger", transfer)) == {"cleo", "dan"}
    assert known_owners(envelope("account.credited", "ledger", second)) == {"dan"}
    reserved = envelope("inventory.reserved", "orders", uuid4(), order_id=str(order))
    assert known_owners(reserved) == {"cleo"}
    assert known_owners(envelope("payment.processed", "orders", order)) == {"cleo"}
    assert known_owners(envelope("order_placement.completed", "orders", placement)) == {"cleo"}


def test_the_catalogue_and_compliance_are_staff_s(container: Container) -> None:
    for event in (
        envelope("product.created", "orders", uuid4(), sku="MUG"),
        envelope("product.stock_added", "orders", uuid4()),
        envelope("compliance.alert.raised", "compliance", uuid4(), account=str(uuid4())),
    ):
        assert known_owners(event) == frozenset()
        assert owners([event]) == [frozenset()]


def test_an_order_in_no_store_concerns_nobody_rather_than_failing(
    container: Container,
) -> None:
    missing = envelope("order.confirmed", "orders", uuid4())
    assert known_owners(missing) is None
    assert owners([missing]) == [frozenset()]


def test_a_hold_concerns_its_payer_and_payee_and_a_cash_movement_its_account(
    container: Container,
) -> None:
    ledger = container.ledger
    payer, payee = funded(ledger, 1_000, owner="eve"), funded(ledger, 0, owner="fay")
    hold = ledger.place_hold(payer, payee, 100)
    facts = {"from_account": str(payer), "to_account": str(payee), "amount": "1.00"}
    for kind in ("placed", "captured", "voided", "expired"):
        assert owners([envelope(f"hold.{kind}", "ledger", hold.id, **facts)]) == [
            frozenset({"eve", "fay"})
        ]
    deposit = envelope("cash_movement.recorded", "ledger", uuid4(), account=str(payee))
    assert owners([deposit]) == [frozenset({"fay"})]
    held = envelope("account.debit_held", "ledger", payer, hold_id=str(hold.id))
    assert owners([held]) == [frozenset({"eve"})]


def test_a_profile_event_concerns_its_customer_and_names_no_one_else() -> None:
    forgotten = envelope("customer.forgotten", "customers", uuid4(), customer="gus")
    assert known_owners(forgotten) == frozenset({"gus"})
    assert owners([envelope("compliance.alert.raised", "compliance", uuid4())]) == [frozenset()]
