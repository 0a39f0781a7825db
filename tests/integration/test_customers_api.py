"""The profile endpoints, forgetting through the API and the command, and what the logs keep.

A profile is set and read by its customer, read by staff, and erased by forgetting: afterwards
every personal field is ``null``, a repeat answers the same, and the customer's login is gone.
Nothing a request logs — its line, an error's, a refusal's — holds a personal value.
"""

from __future__ import annotations

import logging
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from api.logging import JsonFormatter
from config.container import Container
from customers.domain import PersonalData, Sealed, profile_id
from customers.models import CustomerKey
from tests.integration.test_ledger_api import assert_error

pytestmark = pytest.mark.django_db
ME = "/api/me/profile/"
PROFILE = {
    "full_name": "Ottoline Brackenbury-Quist",
    "email": "ottoline.bq.5521@example.net",
    "address": "4 Marram Row, Saltfleet Haven",
    "phone": "+44 7700 900218",
}


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user("alice")


@pytest.fixture
def alice_client(alice: Any, client_for: Any) -> APIClient:
    return client_for(alice)


def customer_url(username: str, what: str = "profile") -> str:
    return f"/api/customers/{username}/{what}/"


def put(client: APIClient, body: Any) -> Any:
    return client.put(ME, body, format="json")


# --- A customer's own profile ----------------------------------------------------------------


def test_a_customer_sets_and_reads_its_profile(container: Container, alice_client) -> None:
    assert_error(alice_client.get(ME), 404, "not_found")
    written = put(alice_client, PROFILE)
    assert written.status_code == 200, written.json()
    body = written.json()
    assert {k: body[k] for k in PROFILE} == PROFILE
    assert (body["customer"], body["forgotten_at"], body["version"]) == ("alice", None, 2)
    assert body["position"] == container.customers.max_position()
    read = alice_client.get(ME).json()
    assert read == {k: v for k, v in body.items() if k != "position"}


def test_the_whole_profile_is_replaced_and_the_same_again_records_nothing(
    container: Container, alice_client
) -> None:
    put(alice_client, PROFILE)
    without = {"full_name": "O. Quist", "email": "oq@example.net"}
    replaced = put(alice_client, without).json()
    assert (replaced["address"], replaced["phone"], replaced["version"]) == (None, None, 3)
    head = container.customers.max_position()
    again = put(alice_client, {**without, "address": None, "phone": None})
    assert again.status_code == 200 and again.json()["version"] == 3
    assert container.customers.max_position() == head


def test_only_customers_have_a_profile_of_their_own(staff_client, alice_client) -> None:
    assert_error(staff_client.get(ME), 403, "permission_denied")
    assert_error(put(staff_client, PROFILE), 403, "permission_denied")
    assert_error(APIClient().get(ME), 401, "not_authenticated")
    assert_error(APIClient().put(ME, PROFILE, format="json"), 401, "not_authenticated")


# --- Staff ------------------------------------------------------------------------------------


def test_staff_read_a_customer_s_profile_and_nobody_else_does(
    container: Container, alice_client, staff_client, make_user, client_for
) -> None:
    put(alice_client, PROFILE)
    read = staff_client.get(customer_url("alice"))
    assert read.status_code == 200 and read.json()["email"] == PROFILE["email"]
    assert_error(client_for(make_user("bob")).get(customer_url("alice")), 403, "permission_denied")
    assert_error(alice_client.get(customer_url("alice")), 403, "permission_denied")
    assert_error(staff_client.get(customer_url("bob")), 404, "not_found")  # no profile yet
    assert_error(staff_client.get(customer_url("nobody")), 404, "not_found")
    assert_error(staff_client.get(customer_url("operator")), 404, "not_found")  # staff


# --- Forgetting -------------------------------------------------------------------------------


def test_forgetting_erases_every_field_and_a_repeat_answers_the_same(
    container: Container, alice, alice_client, staff_client
) -> None:
    put(alice_client, PROFILE)
    alice.email, alice.first_name = PROFILE["email"], "Ottoline"
    alice.save()
    forgotten = staff_client.post(customer_url("alice", "forget"))
    assert forgotten.status_code == 200, forgotten.json()
    body = forgotten.json()
    assert {k: body[k] for k in PROFILE} == dict.fromkeys(PROFILE)
    assert body["forgotten_at"] and body["version"] == 3
    assert body["position"] == container.customers.max_position()
    head = container.customers.max_position()

    again = staff_client.post(customer_url("alice", "forget"))
    assert (again.status_code, again.json()) == (200, body)
    assert container.customers.max_position() == head

    read = staff_client.get(customer_url("alice")).json()
    assert read == {k: v for k, v in body.items() if k != "position"}
    assert CustomerKey.objects.get(customer="alice").secret is None
    user = get_user_model().objects.get(username="alice")
    assert (user.is_active, user.email, user.first_name) == (False, "", "")
    assert not user.has_usable_password()
    assert_error(alice_client.get(ME), 401, "authentication_failed")


def test_no_account_is_opened_for_a_forgotten_customer(
    container: Container, alice, staff_client
) -> None:
    """Its accounts were retired once; a new one would escape that."""
    staff_client.post(customer_url("alice", "forget"))
    refused = staff_client.post("/api/accounts/", {"owner": "alice"}, format="json")
    assert_error(refused, 404, "not_found")
    assert container.ledger.max_position() == 0


def test_a_customer_without_a_profile_is_forgotten_too(container: Container, staff_client, alice):
    forgotten = staff_client.post(customer_url("alice", "forget")).json()
    assert forgotten["full_name"] is None and forgotten["forgotten_at"]
    assert (
        staff_client.get(customer_url("alice")).json()["forgotten_at"] == forgotten["forgotten_at"]
    )
    assert CustomerKey.objects.get(customer="alice").secret is None  # a tombstone: no key ever


def test_only_staff_forget_and_only_customers_are_forgotten(
    container: Container, alice, alice_client, staff_client
) -> None:
    assert_error(alice_client.post(customer_url("alice", "forget")), 403, "permission_denied")
    assert_error(staff_client.post(customer_url("nobody", "forget")), 404, "not_found")
    assert_error(staff_client.post(customer_url("operator", "forget")), 404, "not_found")
    assert container.customers.max_position() == 0
    assert get_user_model().objects.get(username="operator").is_active


def test_a_missing_key_is_an_error_naming_the_customer_never_an_erasure(
    container: Container, alice_client, staff_client, caplog
) -> None:
    put(alice_client, PROFILE)
    CustomerKey.objects.filter(customer="alice").delete()  # lost, not destroyed
    staff_client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        answer = staff_client.get(customer_url("alice"))
    assert_error(answer, 500, "error")
    assert "customer 'alice'" in caplog.text and "not in the key table" in caplog.text


# --- The command ------------------------------------------------------------------------------


def forget(*args: str) -> str:
    out = StringIO()
    call_command("forget_customer", *args, stdout=out)
    return out.getvalue()


def test_the_command_forgets_once_and_says_so(container: Container, alice, alice_client) -> None:
    put(alice_client, PROFILE)
    preview = forget("alice", "--dry-run")
    assert "alice: a profile (version 2); would destroy its data key" in preview
    assert CustomerKey.objects.get(customer="alice").secret is not None
    said = forget("alice")
    assert said.startswith("alice: forgotten at ") and "personal data erased" in said
    assert forget("alice") == said
    assert forget("alice", "--dry-run").startswith("alice: forgotten already, at ")
    profile = container.customers.get_profile("alice")
    assert container.customers.personal_data(profile) == PersonalData()
    with pytest.raises(CommandError, match="No customer named nobody"):
        forget("nobody")


# --- Logs -------------------------------------------------------------------------------------


def test_no_log_line_holds_a_personal_value(
    container: Container, alice_client, staff_client, caplog
) -> None:
    """Every logger at DEBUG, every record formatted as production writes it (with its extra
    fields): the requests are there, the personal values are not — not even refused ones."""
    refused = {**PROFILE, "email": "not-an-address-Ottoline-7743", "full_name": "Q" * 250}
    with caplog.at_level(logging.DEBUG):
        put(alice_client, PROFILE)
        put(alice_client, refused)
        alice_client.get(ME)
        staff_client.get(customer_url("alice"))
        staff_client.post(customer_url("alice", "forget"))
        staff_client.get(customer_url("alice"))
    lines = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "PUT /api/me/profile/ 400" in lines and "/api/customers/alice/forget/" in lines
    for value in [*PROFILE.values(), refused["email"], refused["full_name"]]:
        assert value not in lines


def test_after_a_restore_from_an_older_backup_everyone_forgotten_is_forgotten_again(
    container: Container, alice, alice_client, make_user
) -> None:
    """Restoring Django's database brings back the keys of those forgotten since the backup,
    and with them the stored ciphertext opens again: the event store still says who was
    forgotten, and ``--all-forgotten`` destroys those keys again."""
    put(alice_client, PROFILE)
    make_user("bob")
    secret = CustomerKey.objects.get(customer="alice").secret
    assert secret is not None
    forget("alice")
    forget("bob")
    CustomerKey.objects.filter(customer="alice").update(secret=secret, destroyed_at=None)
    get_user_model().objects.filter(username="alice").update(is_active=True)
    updated = container.customers.stored_events(profile_id("alice"))[1]
    sealed = Sealed(updated.key_id, {name: getattr(updated, name) for name in PROFILE})
    assert container.customers.vault.open("alice", sealed).as_dict() == PROFILE  # the danger

    assert forget("--all-forgotten", "--dry-run").splitlines() == [
        "would forget again: alice", "would forget again: bob", "2 customers",
    ]  # fmt: skip
    assert CustomerKey.objects.get(customer="alice").secret is not None
    assert forget("--all-forgotten").splitlines()[-1] == "2 customers"
    assert container.customers.vault.open("alice", sealed) == PersonalData()
    assert not get_user_model().objects.get(username="alice").is_active


def test_the_command_wants_one_customer_or_all_forgotten(container: Container) -> None:
    with pytest.raises(CommandError, match="Name one customer, or give --all-forgotten"):
        forget()
    with pytest.raises(CommandError, match="Name one customer, or give --all-forgotten"):
        forget("alice", "--all-forgotten")


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_a_destroyed_key_is_gone_from_the_file_and_its_log_at_once(
    container: Container, alice, alice_client
) -> None:
    """No copy of the key is left in Django's SQLite file (secure_delete zeroes what a change
    frees) nor in its write-ahead log (truncated by a checkpoint), while the system runs."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps old row versions until VACUUM: decision 0006")
    put(alice_client, PROFILE)
    secret = CustomerKey.objects.get(customer="alice").secret
    assert secret is not None
    database = Path(connection.settings_dict["NAME"])
    files = [database, database.with_name(f"{database.name}-wal")]
    assert bytes(secret) in b"".join(f.read_bytes() for f in files if f.exists())
    forget("alice")
    assert all(bytes(secret) not in f.read_bytes() for f in files if f.exists())
