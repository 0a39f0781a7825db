"""The vault and the Profile aggregate, on the in-memory store with a key table in a dict.

Each test narrates one promise of crypto-shredding: personal data is recorded only sealed, it
opens for its own customer and field only, and once the key is destroyed every copy reads as
erased, while a key that merely went missing is an error that names the customer.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Collection

import pytest

from customers.application import CustomersApplication
from customers.contract import CUSTOMERS_EVENTS
from customers.domain import (
    ERASED,
    CustomerForgotten,
    PersonalData,
    ProfileNotFound,
    Sealed,
    profile_id,
)
from customers.vault import DataKey, MissingDataKey, TamperedData, Vault
from kernel.events import envelope
from tests.unit.conftest import IN_MEMORY

ALICE = PersonalData(
    full_name="Alice Pleasance Liddell",
    email="alice.liddell@example.org",
    address="Christ Church, Oxford",
    phone="+44 1865 276150",
)


class KeysInADict:
    """A ``KeyStore`` in memory: what ``customers.keys.DatabaseKeys`` does with a table."""

    def __init__(self) -> None:
        self.rows: dict[str, DataKey] = {}  # by customer

    def for_customer(self, customer: str) -> DataKey | None:
        return self.rows.get(customer)

    def add(self, customer: str, secret: bytes) -> DataKey:
        return self.rows.setdefault(customer, DataKey(str(uuid.uuid4()), customer, secret))

    def by_id(self, key_ids: Collection[str]) -> dict[str, DataKey]:
        return {k.key_id: k for k in self.rows.values() if k.key_id in key_ids}

    def destroy(self, customer: str) -> None:
        key = self.rows.get(customer) or DataKey(str(uuid.uuid4()), customer, None)
        self.rows[customer] = DataKey(key.key_id, customer, None)


@pytest.fixture
def keys() -> KeysInADict:
    return KeysInADict()


@pytest.fixture
def vault(keys: KeysInADict) -> Vault:
    return Vault(keys)


@pytest.fixture
def customers(vault: Vault) -> CustomersApplication:
    # Profiles are short: the application takes no snapshots of them. Here it may, to show
    # that one would hold the profile's state as it is, sealed.
    app = CustomersApplication(env={**IN_MEMORY, "IS_SNAPSHOTTING_ENABLED": "y"})
    app.vault = vault
    return app


def clear_values(data: PersonalData) -> list[bytes]:
    return [value.encode() for value in data.as_dict().values() if value]


# --- The vault ---------------------------------------------------------------------------------


def test_a_sealed_field_is_nonce_and_ciphertext_and_opens_to_what_was_sealed(vault) -> None:
    sealed = vault.seal("alice", ALICE)
    for name, value in ALICE.as_dict().items():
        text = sealed.fields[name]
        assert text is not None and value is not None
        raw = base64.b64decode(text)
        assert len(raw) == 12 + len(value.encode()) + 16  # nonce, ciphertext, GCM tag
        assert value.encode() not in raw
    assert vault.open("alice", sealed) == ALICE


def test_each_seal_takes_a_fresh_nonce_and_the_customer_keeps_one_key(vault) -> None:
    first, second = vault.seal("alice", ALICE), vault.seal("alice", ALICE)
    assert first.key_id == second.key_id
    assert first.fields["full_name"] != second.fields["full_name"]


def test_a_field_left_empty_stays_empty(vault) -> None:
    sealed = vault.seal("alice", PersonalData(full_name="Alice", email="a@example.org"))
    assert sealed.fields["phone"] is None and sealed.fields["address"] is None
    assert vault.open("alice", sealed).phone is None


def test_a_ciphertext_opens_only_as_its_own_customer_s_own_field(vault, keys) -> None:
    sealed = vault.seal("alice", ALICE)
    swapped = Sealed(sealed.key_id, {**sealed.fields, "email": sealed.fields["full_name"]})
    with pytest.raises(TamperedData, match="email of customer 'alice'"):
        vault.open("alice", swapped)
    bob = vault.seal("bob", PersonalData(full_name="Bob", email="bob@example.org"))
    with pytest.raises(TamperedData, match="'bob'"):  # alice's ciphertext under bob's name
        vault.open("bob", Sealed(bob.key_id, sealed.fields))
    with pytest.raises(TamperedData, match="another customer's key"):
        vault.open("bob", sealed)


def test_an_altered_ciphertext_is_an_error_not_a_value(vault) -> None:
    sealed = vault.seal("alice", ALICE)
    raw = bytearray(base64.b64decode(sealed.fields["phone"] or ""))
    raw[-1] ^= 1
    altered = Sealed(sealed.key_id, {**sealed.fields, "phone": base64.b64encode(raw).decode()})
    with pytest.raises(TamperedData):
        vault.open("alice", altered)


def test_once_the_key_is_destroyed_every_copy_opens_as_erased(vault) -> None:
    sealed = vault.seal("alice", ALICE)
    vault.forget("alice")
    assert vault.open("alice", sealed) == ERASED


def test_a_destroyed_key_is_never_replaced_a_forgotten_customer_stays_forgotten(vault) -> None:
    vault.forget("alice")  # no key yet: a tombstone is left all the same
    with pytest.raises(CustomerForgotten):
        vault.seal("alice", ALICE)


def test_a_missing_key_is_an_error_that_names_the_customer_never_an_erasure(vault, keys) -> None:
    sealed = vault.seal("alice", ALICE)
    keys.rows.clear()  # the key table lost it (an older backup restored, say)
    with pytest.raises(MissingDataKey, match="customer 'alice'"):
        vault.open("alice", sealed)


# --- The profile -------------------------------------------------------------------------------


def test_a_profile_records_only_ciphertext_in_its_events_envelopes_and_snapshot(
    customers,
) -> None:
    profile = customers.update_profile("alice", ALICE)
    customers.take_snapshot(profile.id)
    stored = b"".join(n.state for n in customers.notifications_after(0, 100))
    assert customers.snapshots is not None
    snapshots = b"".join(s.state for s in customers.snapshots.recorder.select_events(profile.id))
    envelopes = [
        envelope(e, catalogue=CUSTOMERS_EVENTS, position=None)
        for e in customers.stored_events(profile.id)
    ]
    ciphertext = (profile.sealed_fields["full_name"] or "").encode()
    assert ciphertext in stored and ciphertext in snapshots  # where the name is, sealed
    for value in clear_values(ALICE):
        assert value not in stored and value not in snapshots
        assert value not in repr(envelopes).encode()
    assert [e["type"] for e in envelopes] == [
        "customer.profile_created",
        "customer.profile_updated",
    ]
    assert set(envelopes[1]["data"]) == {"customer", "key_id", *ALICE.as_dict()}
    assert customers.personal_data(customers.get_profile("alice")) == ALICE


def test_the_same_profile_again_records_nothing(customers) -> None:
    customers.update_profile("alice", ALICE)
    head = customers.max_position()
    customers.update_profile("alice", ALICE)
    assert customers.max_position() == head
    changed = customers.update_profile("alice", PersonalData(full_name="A", email="a@e.org"))
    assert customers.personal_data(changed) == PersonalData(full_name="A", email="a@e.org")


def test_no_profile_until_one_is_set(customers) -> None:
    with pytest.raises(ProfileNotFound, match="alice has no profile"):
        customers.get_profile("alice")


def test_forgetting_erases_the_profile_and_closes_it_to_changes(customers, keys) -> None:
    customers.update_profile("alice", ALICE)
    forgotten = customers.forget("alice")
    assert forgotten.forgotten and forgotten.forgotten_at == forgotten.modified_on
    assert keys.rows["alice"].destroyed
    assert customers.personal_data(customers.get_profile("alice")) == ERASED
    with pytest.raises(CustomerForgotten) as refused:
        customers.update_profile("alice", ALICE)
    assert refused.value.code == "invalid_state"


def test_forgetting_twice_records_it_once(customers) -> None:
    customers.update_profile("alice", ALICE)
    first = customers.forget("alice")
    again = customers.forget("alice")
    assert (again.version, again.forgotten_at) == (first.version, first.forgotten_at)
    types = [type(e).__name__ for e in customers.stored_events(profile_id("alice"))]
    assert types == ["Created", "Updated", "Forgotten"]


def test_a_customer_without_a_profile_is_forgotten_all_the_same(customers) -> None:
    """So that ``customer.forgotten`` is published, and the ledger retires the accounts."""
    forgotten = customers.forget("carol")
    assert forgotten.forgotten
    names = [CUSTOMERS_EVENTS.type_of(e).name for e in customers.stored_events(forgotten.id)]
    assert names == ["customer.profile_created", "customer.forgotten"]


def test_a_forgetting_cut_short_after_the_key_reads_erased_and_is_finished_by_another(
    customers, vault
) -> None:
    customers.update_profile("alice", ALICE)
    vault.forget("alice")  # the key went; the process died before the event was stored
    profile = customers.get_profile("alice")
    assert not profile.forgotten and customers.personal_data(profile) == ERASED
    assert customers.forget("alice").forgotten


def test_the_console_reads_a_profile_event_opened_then_erased(customers) -> None:
    profile = customers.update_profile("alice", PersonalData(full_name="Alice", email="a@e.org"))
    updated = envelope(
        customers.stored_events(profile.id)[1], catalogue=CUSTOMERS_EVENTS, position=2
    )
    opened = customers.readable(updated, erased="[erased]")["data"]
    assert (opened["full_name"], opened["email"], opened["phone"]) == ("Alice", "a@e.org", None)
    customers.forget("alice")
    erased = customers.readable(updated, erased="[erased]")["data"]
    assert (erased["full_name"], erased["email"], erased["phone"]) == ("[erased]", "[erased]", None)
    assert updated["data"]["full_name"] not in ("Alice", "[erased]")  # the envelope is untouched


def test_a_forgotten_customer_reads_erased_even_if_its_tombstone_was_lost(customers, keys) -> None:
    """Readers know from the profile that it was forgotten: they never ask for the key."""
    profile = customers.update_profile("alice", ALICE)
    updated = envelope(
        customers.stored_events(profile.id)[1], catalogue=CUSTOMERS_EVENTS, position=2
    )
    customers.forget("alice")
    del keys.rows["alice"]
    assert customers.personal_data(customers.get_profile("alice")) == ERASED
    assert customers.readable(updated, erased="[erased]")["data"]["email"] == "[erased]"
