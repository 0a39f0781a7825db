"""Who each event the ledger publishes concerns, for live updates (``GET /api/live/``): the
owners of the accounts it is about. A customer sees its accounts' events, a transfer's events
when either account is its own (as ``GET /api/transfers/{id}/`` shows it the transfer), a hold's
when it is the hold's payer or payee (as ``GET /api/holds/{id}/`` does), a deposit's or
withdrawal's record when the account is its own, and a batch's when it submitted the batch.

The envelope says who when it carries it (an account's opening, a batch); the rest follows from
facts that never change — an account's owner, a transfer's two accounts — which are remembered
as the stream carries them (an opening, a transfer's start) or once read from the ledger. So
``known_owners`` answers most events without any I/O, on the event loop, and ``owners`` reads the
ledger's store only for what began before the process was listening.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from config.container import get_container
from ledger.domain import AccountNotFound, TransferNotFound

# An account's owner, and a transfer's two accounts, by id. Read by the hub (on its event loop
# and in a thread) and by streams catching up, at once.
_OWNERS: LRUCache[UUID, str] = LRUCache(maxsize=100_000)
_TRANSFERS: LRUCache[UUID, tuple[UUID, UUID]] = LRUCache(maxsize=100_000)
_LOCK = threading.Lock()


class NotRemembered(LookupError):
    """Knowing it would take a read of the store."""


def owners(envelope: Mapping[str, Any]) -> frozenset[str]:
    """The usernames ``envelope`` (one of the ledger's) concerns, reading the store if need be;
    none for an event only staff see."""
    return _owners(envelope, read=True)


def known_owners(envelope: Mapping[str, Any]) -> frozenset[str] | None:
    """``owners``, if it is known without reading anything; else None."""
    try:
        return _owners(envelope, read=False)
    except NotRemembered:
        return None


def _owners(envelope: Mapping[str, Any], *, read: bool) -> frozenset[str]:
    aggregate = str(envelope["type"]).rsplit(".", 1)[0]
    data = envelope.get("data") or {}
    subject = UUID(str(envelope["aggregate_id"]))
    if aggregate == "account":
        if "owner" in data:  # its opening
            remember(_OWNERS, subject, data["owner"])
            return frozenset({data["owner"]})
        return account_owners([subject], read=read)
    if aggregate == "transfer":
        if "from_account" in data:  # the transfer's start and end carry their accounts
            accounts = (UUID(data["from_account"]), UUID(data["to_account"]))
            remember(_TRANSFERS, subject, accounts)
            return account_owners(accounts, read=read)
        try:
            return account_owners(transfer_accounts(subject, read=read), read=read)
        except TransferNotFound:
            return frozenset()
    if aggregate == "hold":  # every event of a hold carries its two accounts
        return account_owners((UUID(data["from_account"]), UUID(data["to_account"])), read=read)
    if aggregate == "cash_movement":
        return account_owners([UUID(data["account"])], read=read)
    if aggregate == "transfer_batch":
        return frozenset({data["submitted_by"]})
    return frozenset()


def account_owners(accounts: Iterable[UUID], *, read: bool) -> frozenset[str]:
    """The owners of these accounts: remembered, or (with ``read``) read and remembered."""
    found = set()
    for account in accounts:
        owner = recall(_OWNERS, account)
        if owner is None:
            if not read:
                raise NotRemembered(account)
            try:
                owner = get_container().ledger.owner_of(account)
            except AccountNotFound:
                continue
            remember(_OWNERS, account, owner)
        found.add(owner)
    return frozenset(found)


def transfer_accounts(transfer_id: UUID, *, read: bool) -> tuple[UUID, UUID]:
    """A transfer's two accounts: remembered, or (with ``read``) read and remembered;
    ``TransferNotFound`` is not."""
    accounts = recall(_TRANSFERS, transfer_id)
    if accounts is None:
        if not read:
            raise NotRemembered(transfer_id)
        transfer = get_container().ledger.get_transfer(transfer_id)
        accounts = (transfer.from_account, transfer.to_account)
        remember(_TRANSFERS, transfer_id, accounts)
    return accounts


def recall(cache: LRUCache[UUID, Any], key: UUID) -> Any:
    with _LOCK:
        return cache.get(key)


def remember(cache: LRUCache[UUID, Any], key: UUID, value: Any) -> None:
    with _LOCK:
        cache[key] = value
