"""Writes are rate-limited per user; reads are not. Counts live in the cache of each web
process (a local-memory cache by default), so with N workers a user gets up to N times the
rate: a brake on runaway clients, not an exact quota."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads its settings
    from rest_framework.request import Request


class RatesFromSettings:
    """Rates read at request time: DRF reads its rates once, at import, so a change to the
    settings (a test's, or an operator's override) would otherwise never reach a throttle."""

    scope: str | None

    def get_rate(self) -> str | None:
        rates = cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
        return rates.get(self.scope or "")


class SteadyRateThrottle(SimpleRateThrottle):
    """A rate of "n/period" kept as a steady rate, one request every period/n, with bursts of
    up to n: the generic cell rate algorithm. The cache holds one number per client, the time
    its accepted requests would have taken at the steady rate (``busy_until``); a request is
    accepted if that time, with the request's own share added, lies at most a period ahead.
    DRF's own throttle keeps a timestamp for every request of the period and reads and
    rewrites them all on each request: at a busy client's rate, thousands of them pickled per
    write. Like DRF's, the read and the write are not one atomic step: racing requests may both
    pass, which a brake can afford."""

    num_requests: int  # set from the rate by DRF's __init__
    duration: int  # seconds
    retry_in: float

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        interval = self.duration / self.num_requests
        now = self.timer()
        busy_until = max(self.cache.get(self.key, now), now)
        ahead = busy_until - now  # the backlog, in seconds at the steady rate
        if ahead + interval > self.duration:
            self.retry_in = ahead + interval - self.duration
            return False
        self.cache.set(self.key, busy_until + interval, ahead + interval)
        return True

    def wait(self) -> float:
        return self.retry_in


class ScopedThrottle(RatesFromSettings, ScopedRateThrottle, SteadyRateThrottle):
    """Per client (the user, or the address when anonymous) at the view's ``throttle_scope``."""


class WriteRateThrottle(RatesFromSettings, UserRateThrottle, SteadyRateThrottle):
    scope = "writes"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
