"""The vault: personal data sealed under a key per customer, opened again, or found erased.

AES-GCM (``cryptography``) with a 256-bit data key per customer. Each field is sealed on its
own, under a fresh 96-bit nonce, and bound to the customer and the field by the associated
data, so a ciphertext copied into another customer's profile, or into another field, does not
open. A sealed field is the base64 text of nonce and ciphertext (with its tag).

The keys live in a key table (a ``KeyStore``; ``customers.keys`` keeps it in Django's database),
never in the event store or the stream. Forgetting a customer destroys its key and leaves a
tombstone in its place: from then on its ciphertext, wherever a copy went, opens as erased
(``None``). A key that is simply missing — never destroyed — is an error that names the
customer: reading it as erased would hide a lost key table.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customers.domain import ERASED, PERSONAL_FIELDS, CustomerForgotten, PersonalData, Sealed

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's 96-bit nonce: random, and never reused with a key in practice


@dataclass(frozen=True)
class DataKey:
    """One customer's data key; ``secret`` is None once it was destroyed (forgotten)."""

    key_id: str
    customer: str
    secret: bytes | None

    @property
    def destroyed(self) -> bool:
        return self.secret is None


class KeyStore(Protocol):
    """The key table: where data keys are kept, and destroyed."""

    def for_customer(self, customer: str) -> DataKey | None:
        """The customer's key (or its tombstone), or None if it never had one."""
        ...

    def add(self, customer: str, secret: bytes) -> DataKey:
        """Keep ``secret`` as the customer's key; if it has one (a racing request kept one
        first, or it was forgotten), that one instead."""
        ...

    def by_id(self, key_ids: Collection[str]) -> dict[str, DataKey]:
        """The keys (or tombstones) with these ids; an id the table does not hold is absent."""
        ...

    def destroy(self, customer: str) -> None:
        """Destroy the customer's key, leaving a tombstone (one is made for a customer that had
        no key), so that no key can be made for the customer again. Destroying twice is once."""
        ...


class MissingDataKey(LookupError):
    """Ciphertext whose key the key table does not hold, and never destroyed."""


class TamperedData(ValueError):
    """Ciphertext that does not open under its key: altered, or copied from elsewhere."""


class Vault:
    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def seal(self, customer: str, data: PersonalData) -> Sealed:
        """Each field of ``data`` sealed under the customer's key (made on first use).
        ``CustomerForgotten`` if the key was destroyed: a forgotten customer stays so."""
        key = self.keys.for_customer(customer) or self.keys.add(
            customer, secrets.token_bytes(KEY_BYTES)
        )
        if key.secret is None:
            raise CustomerForgotten(f"{customer} was forgotten; nothing personal is kept.")
        cipher = AESGCM(key.secret)
        fields: dict[str, str | None] = {}
        for name, value in data.as_dict().items():
            if value is None:
                fields[name] = None
                continue
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, value.encode(), _bound_to(customer, name))
            fields[name] = base64.b64encode(nonce + sealed).decode("ascii")
        return Sealed(key.key_id, fields)

    def open(self, customer: str, sealed: Sealed) -> PersonalData:
        """The personal data in clear; every field ``None`` once the key was destroyed.
        ``MissingDataKey`` (naming the customer) if the key table does not hold the key."""
        key = self.keys.by_id([sealed.key_id]).get(sealed.key_id)
        if key is not None and key.customer != customer:
            raise TamperedData(f"Customer {customer!r}'s data names another customer's key.")
        if key is None:
            raise MissingDataKey(
                f"The data key {sealed.key_id} of customer {customer!r} is not in the key table, "
                "and was never destroyed: the customer's personal data cannot be read. Restore "
                "the key table from a backup, then run forget_customer --all-forgotten."
            )
        if key.secret is None:
            return ERASED
        cipher = AESGCM(key.secret)
        opened: dict[str, str | None] = {}
        for name in PERSONAL_FIELDS:
            text = sealed.fields.get(name)
            opened[name] = None if text is None else _open(cipher, customer, name, text)
        return PersonalData(**opened)

    def forget(self, customer: str) -> None:
        """Destroy the customer's key: what it sealed is erased, wherever a copy went."""
        self.keys.destroy(customer)


def _bound_to(customer: str, field: str) -> bytes:
    """The associated data: a ciphertext opens only as this customer's ``field``. (A username
    holds no colon, so the binding is unambiguous.)"""
    return f"eventbank:profile:{customer}:{field}".encode()


def _open(cipher: AESGCM, customer: str, field: str, text: str) -> str:
    try:
        raw = base64.b64decode(text, validate=True)
        clear = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _bound_to(customer, field))
        return clear.decode()
    except (InvalidTag, binascii.Error, ValueError):
        raise TamperedData(
            f"The {field} of customer {customer!r} does not open under its key: the ciphertext "
            "was altered, or copied from another customer or field."
        ) from None
