"""The customers context's aggregate: a customer's profile, whose personal data it holds sealed.

A profile's personal fields are recorded as ciphertext under the customer's own data key
(``customers.vault``): the events, their snapshots and the envelopes on NATS hold them only
so. Forgetting the customer destroys the key, so every copy of that ciphertext, wherever it
went, reads as erased; the profile records that it was forgotten, so nothing can be recorded
after, and readers know without asking the key table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from kernel.errors import DomainError

_PROFILE_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/customer-profiles")


class CustomersError(DomainError):
    """A business rule of the customers context said no."""

    code = "customers_error"


class CustomerNotFound(CustomersError):
    code = "not_found"


class ProfileNotFound(CustomersError):
    code = "not_found"


class CustomerForgotten(CustomersError):
    """The customer was forgotten: nothing personal may be recorded for them again."""

    code = "invalid_state"


@dataclass(frozen=True)
class PersonalData:
    """A profile's personal fields in clear: made by a request or by opening a sealed profile,
    never stored. ``None`` is a field left empty, or erased."""

    full_name: str | None = None
    email: str | None = None
    address: str | None = None
    phone: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in PERSONAL_FIELDS}


PERSONAL_FIELDS = tuple(f.name for f in fields(PersonalData))
ERASED = PersonalData()  # what a forgotten customer's profile reads as


@dataclass(frozen=True)
class Sealed:
    """Personal data as it is recorded: each field's ciphertext (base64 text; ``None`` for a
    field left empty), and the id of the data key that sealed them."""

    key_id: str
    fields: Mapping[str, str | None]


def profile_id(customer: str) -> UUID:
    """A profile's id follows from the customer's username: one profile per customer, found
    without an index."""
    return uuid5(_PROFILE_NAMESPACE, customer)


class Profile(Aggregate):
    @event("Created")
    def __init__(self, id: UUID, customer: str) -> None:
        self.customer = customer
        self.key_id: str | None = None
        self.sealed_fields: dict[str, str | None] = dict.fromkeys(PERSONAL_FIELDS)
        self.forgotten = False

    @classmethod
    def create(cls, customer: str) -> Profile:
        return cls(id=profile_id(customer), customer=customer)

    @property
    def sealed(self) -> Sealed | None:
        """What was last recorded, sealed; None before the first update, and once forgotten."""
        if self.key_id is None:
            return None
        return Sealed(self.key_id, dict(self.sealed_fields))

    @property
    def forgotten_at(self) -> datetime | None:
        """When it was forgotten: its last event, since nothing follows a forgetting."""
        return self.modified_on if self.forgotten else None

    # --- Commands ------------------------------------------------------------------------

    def update(self, sealed: Sealed) -> None:
        self.check_not_forgotten()
        fields = {name: sealed.fields.get(name) for name in PERSONAL_FIELDS}
        self._updated(self.customer, sealed.key_id, **fields)

    def forget(self) -> None:
        """Record that the customer was forgotten; forgetting twice records it once."""
        if not self.forgotten:
            self._forgotten(self.customer)

    def check_not_forgotten(self) -> None:
        if self.forgotten:
            raise CustomerForgotten(f"{self.customer} was forgotten; their profile is closed.")

    # --- Events ----------------------------------------------------------------------------

    @event("Updated")
    def _updated(
        self,
        customer: str,  # in every event, so each is read on its own (the vault needs the name)
        key_id: str,
        full_name: str | None,
        email: str | None,
        address: str | None,
        phone: str | None,
    ) -> None:
        self.key_id = key_id
        self.sealed_fields = {
            "full_name": full_name, "email": email, "address": address, "phone": phone,
        }  # fmt: skip

    @event("Forgotten")
    def _forgotten(self, customer: str) -> None:
        # The ciphertext is unreadable once the key is gone; the state drops it all the same,
        # so a snapshot taken from here on holds none.
        self.key_id = None
        self.sealed_fields = dict.fromkeys(PERSONAL_FIELDS)
        self.forgotten = True
