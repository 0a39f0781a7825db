"""Unit tests run on the library's in-memory store: no files, no servers, milliseconds."""

from __future__ import annotations

import pytest

from ledger.application import LedgerApplication

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


@pytest.fixture
def ledger() -> LedgerApplication:
    return LedgerApplication(env=IN_MEMORY)
