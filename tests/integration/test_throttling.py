"""Writes are throttled per user (429 ``throttled`` with Retry-After); reads never are; one
user's writes do not spend another's. Passwords are throttled per client address and per
username, at every door that takes one, so they cannot be guessed at speed. A rate of n a
period allows a burst of n, then one request every period/n."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from api.models import PasswordAttemptBudget
from api.parsers import ExactJSONParser
from api.throttling import PasswordAttemptThrottle
from tests.e2e.conftest import server_env
from tests.integration.test_ledger_api import assert_error, open_account
from tests.support import released_together

ROOT = Path(__file__).resolve().parents[2]

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


def test_a_profile_s_put_is_a_write_and_is_throttled_as_one(
    container, three_writes_a_minute, make_user, client_for
) -> None:
    alice = client_for(make_user("alice"))
    for name in ("A", "B", "C"):
        body = {"full_name": name, "email": "a@example.org"}
        assert alice.put("/api/me/profile/", body, format="json").status_code == 200
    refused = alice.put(
        "/api/me/profile/", {"full_name": "D", "email": "a@example.org"}, format="json"
    )
    assert_error(refused, 429, "throttled")
    assert container.customers.get_profile("alice").version == 4  # created, then three puts


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


# --- Every door that takes a password ---------------------------------------------------------


def token_attempt(client: Client, username: str, password: str) -> Any:
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, "application/json"
    )


def form_attempt(path: str) -> Callable[[Client, str, str], Any]:
    def attempt(client: Client, username: str, password: str) -> Any:
        return client.post(path, {"username": username, "password": password})

    return attempt


DOORS = {
    "token": token_attempt,
    "admin login": form_attempt("/admin/login/"),
    "browsable API login": form_attempt("/api-auth/login/"),
}


@pytest.mark.parametrize("door", list(DOORS))
def test_every_door_refuses_a_fourth_password_in_a_minute_even_the_right_one(
    three_token_requests_a_minute, make_user, door: str
) -> None:
    """The outside test guessed 30 wrong passwords on the admin's and the browsable API's login
    pages, then the right one, and was never refused."""
    make_user("alice", staff=True)
    attempt = DOORS[door]
    for n in range(3):
        assert attempt(Client(), "alice", f"guess-{n}").status_code in (200, 400)  # wrong
    refused = attempt(Client(), "alice", "correct horse battery staple")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert not Token.objects.exists()
    assert "_auth_user_id" not in Client().session  # nobody was logged in


def test_the_doors_share_one_budget(three_token_requests_a_minute, make_user) -> None:
    make_user("alice")
    for door in DOORS.values():
        door(Client(), "alice", "guess")
    assert DOORS["token"](Client(), "alice", "guess").status_code == 429


def test_a_username_is_throttled_whichever_address_guesses(
    three_token_requests_a_minute, make_user
) -> None:
    """Guesses spread over many addresses still spend the username's budget; another username
    from the same addresses is not refused for it."""
    make_user("alice")
    make_user("bob")
    for n in range(3):
        token_attempt(Client(REMOTE_ADDR=f"10.0.0.{n}"), "alice", "guess")
    assert token_attempt(Client(REMOTE_ADDR="10.0.0.9"), "alice", "guess").status_code == 429
    right = token_attempt(Client(REMOTE_ADDR="10.0.0.9"), "bob", "correct horse battery staple")
    assert right.status_code == 200


def test_x_forwarded_for_does_not_make_a_new_client(three_token_requests_a_minute) -> None:
    """With no proxy in front (EVENTBANK_NUM_PROXIES=0), the header is the client's to choose:
    believed, it would make every guess a new client."""
    for n in range(3):
        client = Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert token_attempt(client, f"user-{n}", "guess").status_code == 400
    client = Client(HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_error(token_attempt(client, "user-99", "guess"), 429, "throttled")


@pytest.mark.django_db(transaction=True)
def test_racing_attempts_book_exactly_the_rate(three_token_requests_a_minute) -> None:
    """Each booking is one conditional UPDATE: of twelve attempts at once, never more than three
    get through, in however many threads (or processes). (An attempt that waited for another's
    booking reads an older clock and may find the last place gone a few milliseconds early: a
    throttle may refuse early, never late.)"""
    factory = APIRequestFactory()

    def attempt(n: int) -> bool:
        request = Request(
            factory.post("/", {"username": "alice"}, format="json"), parsers=[ExactJSONParser()]
        )
        try:
            return PasswordAttemptThrottle().allow_request(request, None)
        finally:
            connection.close()

    allowed, errors = released_together(12, attempt)
    assert not errors, errors
    assert 1 <= allowed.count(True) <= 3
    (client_budget,) = PasswordAttemptBudget.objects.filter(key__startswith="client:")
    (user_budget,) = PasswordAttemptBudget.objects.filter(key__startswith="user:")
    booked = round((client_budget.busy_until - user_budget.busy_until) / 20)
    assert booked == 0  # as many on each: nothing booked on one budget alone


def test_the_auth_rate_is_read_from_the_environment(tmp_path) -> None:
    env = {**server_env(tmp_path, database=None, nats_url=None), "EVENTBANK_AUTH_RATE": "7/hour"}
    shown = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; import django; django.setup();"
         " print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['auth'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert shown.stdout.strip() == "7/hour"
