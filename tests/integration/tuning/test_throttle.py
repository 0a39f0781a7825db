"""``tuning.throttle``: a rate of n a period allows a burst of n, then one request every
period/n; a quiet period restores the burst."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from tests.integration.test_throttling import three_a_minute
from tuning.throttle import SteadyRateThrottle, SteadyWriteRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_writes_a_minute(settings) -> Iterator[None]:
    yield from three_a_minute(settings, "writes")


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
        throttle, request = SteadyWriteRateThrottle(), Request(write)
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
