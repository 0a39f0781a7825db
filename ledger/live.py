"""Who each event the ledger publishes concerns, for live updates (``GET /api/live/``): the
owners of the accounts it is about. A customer sees its accounts' events, a transfer's events
when either account is its own (as ``GET /api/transfers/{id}/`` shows it the transfer), and a
batch's when it submitted the batch.

The envelope says who when it carries it (an account's opening, a transfer's start and end);
otherwise the ledger's application does (``LedgerApplication.owner_of``, which remembers). A
transfer's accounts never change, so those its start carried are remembered for its steps, which
carry none: the stream itself keeps the answer at hand, and the store is read only for a
transfer that began before the process was listening.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from config.container import get_container
from ledger.domain import AccountNotFound, TransferNotFound

# A transfer's two accounts, by transfer id. Read by the hub and by catching-up streams at once.
_TRANSFERS: LRUCache[UUID, tuple[UUID, UUID]] = LRUCache(maxsize=100_000)
_LOCK = threading.Lock()


def owners(envelope: Mapping[str, Any]) -> frozenset[str]:
    """The usernames ``envelope`` (one of the ledger's) concerns; none for an event only staff
    see."""
    aggregate = str(envelope["type"]).rsplit(".", 1)[0]
    data = envelope.get("data") or {}
    subject = UUID(str(envelope["aggregate_id"]))
    if aggregate == "account":
        return frozenset({data["owner"]}) if "owner" in data else account_owners([subject])
    if aggregate == "transfer":
        if "from_account" in data:  # the transfer's start and end carry their accounts
            accounts = (UUID(data["from_account"]), UUID(data["to_account"]))
            with _LOCK:
                _TRANSFERS[subject] = accounts
            return account_owners(accounts)
        try:
            return account_owners(transfer_accounts(subject))
        except TransferNotFound:
            return frozenset()
    if aggregate == "transfer_batch":
        return frozenset({data["submitted_by"]})
    return frozenset()


def account_owners(accounts: Iterable[UUID]) -> frozenset[str]:
    """The owners of these accounts (``LedgerApplication.owner_of`` remembers them)."""
    ledger, found = get_container().ledger, set()
    for account in accounts:
        try:
            found.add(ledger.owner_of(account))
        except AccountNotFound:
            continue
    return frozenset(found)


def transfer_accounts(transfer_id: UUID) -> tuple[UUID, UUID]:
    """The two accounts of a transfer: remembered, or read from the store (then remembered);
    ``TransferNotFound`` is not."""
    with _LOCK:
        known = _TRANSFERS.get(transfer_id)
    if known is None:
        transfer = get_container().ledger.get_transfer(transfer_id)
        known = (transfer.from_account, transfer.to_account)
        with _LOCK:
            _TRANSFERS[transfer_id] = known
    return known
