"""Writes are throttled per user (429 ``throttled`` with Retry-After); reads never are; one
user's writes do not spend another's. Token requests are throttled per client address, so
passwords cannot be guessed at speed. A rate of n a period allows a burst of n, then one
request every period/n."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from api.throttling import SteadyRateThrottle, WriteRateThrottle
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


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_rate_is_kept_steady_after_a_burst_of_one_periods_allowance(
    three_writes_a_minute, make_user, monkeypatch
) -> None:
    """3/min: three at once, then one every 20 s; a quiet minute restores the burst."""
    clock = Clock()
    monkeypatch.setattr(SteadyRateThrottle, "timer", clock)
    write = APIRequestFactory().post("/api/accounts/")
    force_authenticate(write, user=make_user("alice"))

    def attempt() -> float | None:
        """None when allowed; else the seconds until a write would be allowed."""
        throttle, request = WriteRateThrottle(), Request(write)
        assert request.user.is_authenticated  # counted per user
        return None if throttle.allow_request(request, None) else throttle.wait()

    assert [attempt() for _ in range(3)] == [None, None, None]
    assert attempt() == pytest.approx(20)
    clock.now += 5
    assert attempt() == pytest.approx(15)  # a refusal does not push the next chance back
    clock.now += 15
    assert [attempt(), attempt()] == [None, pytest.approx(20)]
    clock.now += 60
    assert [attempt() for _ in range(4)] == [None, None, None, pytest.approx(20)]
