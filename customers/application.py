"""The customers context's use cases: a customer's profile, sealed as it is recorded and opened
as it is read, and forgetting the customer (crypto-shredding, ``docs/decisions/0006``)."""

from __future__ import annotations

from typing import Any

from customers.contract import CUSTOMERS_EVENTS, PROFILE_UPDATED
from customers.domain import (
    ERASED,
    PERSONAL_FIELDS,
    PersonalData,
    Profile,
    ProfileNotFound,
    Sealed,
    profile_id,
)
from customers.vault import Vault
from kernel.application import EventSourcedApplication


class CustomersApplication(EventSourcedApplication):
    name = "customers"
    catalogue = CUSTOMERS_EVENTS
    vault: Vault  # on the key table in Django's database, wired by the composition root

    # --- Reads -------------------------------------------------------------------------------

    def get_profile(self, customer: str) -> Profile:
        profile = self.find(profile_id(customer), Profile)
        if profile is None:
            raise ProfileNotFound(f"{customer} has no profile.")
        return profile

    def personal_data(self, profile: Profile) -> PersonalData:
        """The profile's personal data in clear; erased (every field ``None``) once forgotten,
        or once the key is destroyed (a forgetting under way)."""
        sealed = profile.sealed
        if profile.forgotten or sealed is None:
            return ERASED
        return self.vault.open(profile.customer, sealed)

    def readable(self, envelope: dict[str, Any], *, erased: Any = None) -> dict[str, Any]:
        """A ``customer.profile_updated`` envelope with its fields opened for staff; a field
        whose key was destroyed, or whose customer was forgotten, shows ``erased``."""
        if envelope["type"] != PROFILE_UPDATED:
            return envelope
        data = envelope["data"]
        sealed = Sealed(data["key_id"], {name: data[name] for name in PERSONAL_FIELDS})
        if self.get_profile(data["customer"]).forgotten:  # no key to ask for, tombstone or not
            shown = {n: None if v is None else erased for n, v in sealed.fields.items()}
        else:
            shown = self.opened(data["customer"], sealed, erased)
        return {**envelope, "data": {**data, **shown}}

    def opened(self, customer: str, sealed: Sealed, erased: Any = None) -> dict[str, Any]:
        """Each field of ``sealed`` in clear: ``erased`` for one whose key was destroyed, None
        for one left empty."""
        clear = self.vault.open(customer, sealed).as_dict()
        lost = {n for n in PERSONAL_FIELDS if sealed.fields.get(n) is not None and clear[n] is None}
        return {name: erased if name in lost else clear[name] for name in PERSONAL_FIELDS}

    def forgotten_customers(self) -> list[str]:
        """Every customer this store records as forgotten, in the order they were."""
        forgotten = self.events_of_type(Profile.Forgotten)  # type: ignore[attr-defined]  # (@event)
        return [event.customer for event in forgotten]

    # --- Writes ------------------------------------------------------------------------------

    def update_profile(self, customer: str, data: PersonalData) -> Profile:
        """Record the customer's personal data, sealed (a profile is made on first use). The
        data it holds already changes nothing. ``CustomerForgotten`` once forgotten."""

        def attempt() -> Profile:
            profile = self.find(profile_id(customer), Profile) or Profile.create(customer)
            profile.check_not_forgotten()
            if profile.sealed is not None and self.personal_data(profile) == data:
                return profile
            profile.update(self.vault.seal(customer, data))
            self.save(profile)
            return profile

        return self.retrying(attempt)

    def forget(self, customer: str) -> Profile:
        """Forget the customer: destroy its data key, then record ``customer.forgotten`` (on a
        profile made for it if it had none, so that the ledger hears of it). Each step is
        idempotent, so a forgetting cut short is finished by forgetting again; the key goes
        first, so from the first step on nothing personal can be read."""
        self.vault.forget(customer)

        def attempt() -> Profile:
            profile = self.find(profile_id(customer), Profile) or Profile.create(customer)
            profile.forget()
            if profile.pending_events:
                self.save(profile)
            return profile

        return self.retrying(attempt)
