"""Writes are throttled per user (429 ``throttled`` with Retry-After); reads never are; one
user's writes do not spend another's. Token requests are throttled per client address, so
passwords cannot be guessed at speed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.integration.test_ledger_api import assert_error, open_account

pytestmark = pytest.mark.django_db


def three_a_minute(settings, scope: str) -> Iterator[None]:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                   scope: "3/min"},
    }  # fmt: skip
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def three_writes_a_minute(settings) -> Iterator[None]:
    yield from three_a_minute(settings, "writes")


@pytest.fixture
def three_token_requests_a_minute(settings) -> Iterator[None]:
    yield from three_a_minute(settings, "auth")


def test_a_fourth_write_in_a_minute_is_refused_and_reads_go_on(
    container, three_writes_a_minute, make_user, client_for
) -> None:
    alice, bob = client_for(make_user("alice")), client_for(make_user("bob"))
    for _ in range(3):
        open_account(alice)
    refused = alice.post("/api/accounts/", {}, format="json")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    assert alice.get("/api/accounts/").status_code == 200  # reads are not throttled
    open_account(bob)  # another user's budget is untouched
    assert len(container.ledger.notifications_after(0, 100)) == 4  # nothing more was opened


def test_a_fourth_token_request_in_a_minute_is_refused_even_with_the_right_password(
    three_token_requests_a_minute, make_user
) -> None:
    make_user("alice")
    guesses = [
        APIClient().post(
            "/api/auth/token/", {"username": "alice", "password": f"guess-{n}"}, format="json"
        )
        for n in range(3)
    ]
    assert [g.status_code for g in guesses] == [400, 400, 400]
    right = {"username": "alice", "password": "correct horse battery staple"}
    refused = APIClient().post("/api/auth/token/", right, format="json")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    assert not Token.objects.exists()  # no token was handed out
