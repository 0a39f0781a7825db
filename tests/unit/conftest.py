"""Unit tests run on the library's in-memory store: no files, no servers, milliseconds."""

from __future__ import annotations

import pytest

from ledger.application import LedgerApplication
from orders.application import OrdersApplication

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


@pytest.fixture
def ledger() -> LedgerApplication:
    return LedgerApplication(env=IN_MEMORY)


@pytest.fixture
def orders(ledger: LedgerApplication) -> OrdersApplication:
    """The orders context, paying through ``ledger``: a shop of five apples at 1.50 and one
    loaf at 3.00."""
    app = OrdersApplication(env=IN_MEMORY)
    app.payments = ledger
    app.create_product("APPLE", "apple", 150, 5)
    app.create_product("BREAD", "bread", 300, 1)
    return app
