"""Writes are rate-limited per user; reads are not. Counts live in the cache of each web
process (a local-memory cache by default), so with N workers a user gets up to N times the
rate: a brake on runaway clients, not an exact quota."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads its settings
    from rest_framework.request import Request


class RatesFromSettings:
    """Rates read at request time: DRF reads its rates once, at import, so a change to the
    settings (a test's, or an operator's override) would otherwise never reach a throttle."""

    scope: str | None

    def get_rate(self) -> str | None:
        rates = cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
        return rates.get(self.scope or "")


class ScopedThrottle(RatesFromSettings, ScopedRateThrottle):
    """Per client (the user, or the address when anonymous) at the view's ``throttle_scope``."""


class WriteRateThrottle(RatesFromSettings, UserRateThrottle):
    scope = "writes"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
