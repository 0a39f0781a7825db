"""``create_customer``: a non-staff API user, whose password must pass the validators."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_a_customer_with_a_good_password_can_sign_in_and_is_not_staff(client) -> None:
    call_command("create_customer", "carol", "--password", "violet-orbit-1927", verbosity=0)
    carol = get_user_model().objects.get(username="carol")
    assert not carol.is_staff and carol.check_password("violet-orbit-1927")
    answer = client.post(
        "/api/auth/token/", {"username": "carol", "password": "violet-orbit-1927"},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 200 and answer.json()["token"]


@pytest.mark.parametrize(
    ("password", "why"),
    [("password", "too common"), ("12345678901", "entirely numeric"), ("dave", "too short"),
     ("dave-the-user", "too similar")],
)  # fmt: skip
def test_a_weak_password_is_refused_and_no_user_is_made(password: str, why: str) -> None:
    with pytest.raises(CommandError, match=why):
        call_command("create_customer", "dave-the-user", "--password", password, verbosity=0)
    assert not get_user_model().objects.filter(username="dave-the-user").exists()


def test_an_existing_username_is_refused() -> None:
    call_command("create_customer", "erin", "--password", "violet-orbit-1927", verbosity=0)
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_customer", "erin", "--password", "another-orbit-2030", verbosity=0)
