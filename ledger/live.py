"""Who each event the ledger publishes concerns, for live updates (``GET /api/live/``): the
owners of the accounts it is about. A customer sees its accounts' events, a transfer's events
when either account is its own (as ``GET /api/transfers/{id}/`` shows it the transfer), and a
batch's when it submitted the batch. The envelope says who when it carries it; otherwise the
ledger's application does, read once: owners never change, so they are remembered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from uuid import UUID

from config.container import get_container
from ledger.domain import AccountNotFound, TransferNotFound


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
            return account_owners(UUID(data[name]) for name in ("from_account", "to_account"))
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


@lru_cache(maxsize=10_000)
def transfer_accounts(transfer_id: UUID) -> tuple[UUID, ...]:
    """The two accounts of a transfer, read once (a transfer's accounts never change);
    ``TransferNotFound`` is not remembered."""
    transfer = get_container().ledger.get_transfer(transfer_id)
    return (transfer.from_account, transfer.to_account)
