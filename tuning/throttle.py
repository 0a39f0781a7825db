"""A write throttle that keeps one number per client instead of a list of timestamps.

Replaces: DRF's ``SimpleRateThrottle`` bookkeeping under ``api.throttling.WriteRateThrottle``:
DRF keeps a timestamp for every request of the period, and reads and rewrites them all on each
request (at a busy client's rate, thousands of them pickled per write).

Why it is safe: the generic cell rate algorithm gives the same answer for a steady client and
the same burst (n requests of a rate "n/period" at once): one request every period/n after the
burst. It differs only in *when* a refused client may come back (steadily, rather than when the
oldest timestamp leaves the window), which a brake on runaway clients can afford.

What would break it: wanting a quota exact to the request (neither this nor DRF's is: the read
and the write are two cache calls, and racing requests may both pass).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.throttling import SimpleRateThrottle

from api.throttling import WriteRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request


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


class SteadyWriteRateThrottle(WriteRateThrottle, SteadyRateThrottle):
    """``api.throttling.WriteRateThrottle``, with a steady rate's bookkeeping."""
