"""Writes are rate-limited per user; reads are not. Counts live in the cache of each web
process (a local-memory cache by default), so with N workers a user gets up to N times the
rate: a brake on runaway clients, not an exact quota.

Password attempts are different: they are booked in the database, per client address and per
username, at one rate for every door that takes a password (the token endpoint, the admin's
login, the browsable API's login), so a guesser gets the rate and no more, whichever door and
whichever web process it knocks on."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from api.models import PasswordAttemptBudget

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads its settings
    from rest_framework.request import Request


class RatesFromSettings:
    """Rates read at request time: DRF reads its rates once, at import, so a change to the
    settings (a test's, or an operator's override) would otherwise never reach a throttle."""

    scope: str | None

    def get_rate(self) -> str | None:
        rates = cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
        return rates.get(self.scope or "")


class WriteRateThrottle(RatesFromSettings, UserRateThrottle):
    """DRF's per-user throttle, on unsafe methods only, at the ``writes`` rate."""

    scope = "writes"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class PasswordAttemptThrottle(RatesFromSettings, SimpleRateThrottle):
    """Every presented password books one attempt on two budgets, the client address's and the
    username's, at the ``auth`` rate: "n/period" kept steady, one attempt every period/n after a
    burst of n (the generic cell rate algorithm). Each booking is one conditional UPDATE, so
    racing attempts cannot both take the last place, in one process or many, and an attempt
    is booked on both budgets or on neither."""

    scope = "auth"
    num_requests: int
    duration: int
    retry_in: float

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        keys = [f"client:{self.get_ident(request)}"]
        if username := _presented_username(request):
            keys.append("user:" + hashlib.sha256(username.encode()).hexdigest())
        interval = self.duration / self.num_requests
        with transaction.atomic():  # both budgets, or neither
            for key in keys:
                refused_for = _book(key, self.timer(), interval=interval, period=self.duration)
                if refused_for is not None:
                    self.retry_in = refused_for
                    transaction.set_rollback(True)
                    return False
        return True

    def wait(self) -> float:
        return self.retry_in


def _presented_username(request: Any) -> str:
    """The username a password came with: a JSON body's (DRF's ``request.data``) or a form's."""
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    username = data.get("username") if hasattr(data, "get") else None
    return username[:150] if isinstance(username, str) else ""


def _book(key: str, now: float, *, interval: float, period: float) -> float | None:
    """Book one attempt on ``key``'s budget; None when booked, else the seconds until one can
    be. The budget is booked ``interval`` further ahead if that keeps it within ``period`` of
    now."""
    budgets = PasswordAttemptBudget.objects
    latest_start = now + period - interval
    for _ in range(2):
        if budgets.filter(key=key, busy_until__lte=latest_start).update(
            busy_until=Greatest(F("busy_until"), Value(now)) + interval
        ):
            return None
        try:
            with transaction.atomic():
                budgets.filter(busy_until__lt=now).delete()  # lapsed: the same as no budget
                budgets.create(key=key, busy_until=now + interval)
            return None
        except IntegrityError:
            continue  # a budget exists: a racing first attempt made it, or it is spent
    busy_until = budgets.get(key=key).busy_until
    return max(busy_until + interval - period - now, 0.0)


def refuse_password_attempt(request: HttpRequest) -> HttpResponse | None:
    """For a Django view that takes a password in a form: a 429 page if this POST is over the
    auth rate (booking it otherwise), or None to let the view go on."""
    if request.method != "POST":
        return None
    throttle = PasswordAttemptThrottle()
    if throttle.allow_request(request, None):
        return None
    retry_after = max(1, round(throttle.wait()))
    response = TemplateResponse(
        request, "api/too_many_attempts.html", {"retry_after": retry_after}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response
