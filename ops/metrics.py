"""``GET /metrics``: the Prometheus text exposition, for staff or a scraper with the token.

Two kinds of figure, each kept where it is true for every process:

- Request counts are counted per process by ``api.middleware.RequestLogMiddleware``, and open
  live streams by ``api.live`` (``eventbank_live_streams``). With
  several web workers a scrape reaches one worker, so each worker writes its counts to
  ``PROMETHEUS_MULTIPROC_DIR`` (set by ``ops/web_server.py``) and the scrape sums them all
  (prometheus-client's multiprocess mode). In a single process they are read directly.
- Everything else is read from the databases at scrape time — sagas by status from the
  projections, positions and lag, dead letters — so no process keeps a gauge that another
  process could contradict.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.views import APIView

from api.exception_handlers import json_error, read_only
from api.live import STREAMS
from api.middleware import REQUESTS
from config.container import get_container
from messaging.handlers import names
from messaging.models import DeadLetter
from ops.lag import relay_lags, sources, subscriber_lags
from projections.models import OrderSummary, TransferSummary


class StateCollector(Collector):
    """Gauges read from the event stores and Django's tables when scraped."""

    def collect(self) -> Iterator[Metric]:
        heads, down = sources(get_container())
        yield _gauge(
            "eventbank_event_store_up",
            "1 when the source's event store answered this scrape; 0 when it is down (its "
            "positions and lags are then left out)",
            ["source"],
            {**{(s.name,): 1 for s in heads}, **{(name,): 0 for name in down}},
        )
        yield _gauge(
            "eventbank_event_store_position",
            "The highest notification id in each source's log",
            ["source"],
            {(s.name,): s.head for s in heads},
        )
        relays = relay_lags(heads)
        yield _gauge(
            "eventbank_relay_position",
            "The last notification id the relay published from each source (ids have gaps)",
            ["source"],
            {(r.source,): r.published for r in relays},
        )
        yield _gauge(
            "eventbank_relay_lag_events",
            "Notification ids stored and not yet published, per source",
            ["source"],
            {(r.source,): r.lag for r in relays},
        )
        yield _gauge(
            "eventbank_subscriber_lag_events",
            "How far each subscriber is behind each source it consumes, in notification ids",
            ["subscriber", "source"],
            {(s.subscriber, s.source): s.lag for s in subscriber_lags(heads)},
        )
        parked = dict(
            DeadLetter.objects.filter(resolved_at__isnull=True)
            .values("subscriber")
            .annotate(n=Count("id"))
            .values_list("subscriber", "n")
        )
        yield _gauge(
            "eventbank_dead_letters_unresolved",
            "Messages parked by each subscriber and not yet resolved",
            ["subscriber"],
            {(name,): parked.get(name, 0) for name in sorted({*names(), *parked})},
        )
        sagas: dict[tuple[str, ...], int] = {
            (kind, status): n
            for kind, model in (("transfer", TransferSummary), ("order", OrderSummary))
            for status, n in model.objects.values("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        }
        yield _gauge(
            "eventbank_sagas",
            "Transfers and orders by status, from the transfers and orders projections",
            ["kind", "status"],
            sagas,
        )


def _gauge(
    name: str, documentation: str, labels: list[str], values: Mapping[tuple[str, ...], int]
) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        gauge.add_metric(list(label_values), value)
    return gauge


def registry() -> CollectorRegistry:
    """What one scrape reports: every process's request counts and open live streams, and the
    state read now."""
    scrape = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)
    else:
        scrape.register(REQUESTS)
        scrape.register(STREAMS)
    scrape.register(StateCollector())
    return scrape


def api_user(request: HttpRequest) -> Any:
    """The user as the API sees this request (a session or ``Authorization: Token``, through the
    API's own authentication classes); anonymous when the credentials are wrong."""
    authenticators = APIView().get_authenticators()  # the API's defaults (settings)
    try:
        return Request(request, authenticators=authenticators).user
    except AuthenticationFailed:
        return AnonymousUser()


def may_scrape(request: HttpRequest, user: Any) -> bool:
    """Staff (a session or an API token), or a scraper sending ``Authorization: Bearer
    <METRICS_TOKEN>``."""
    if user.is_authenticated and user.is_staff:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    token = settings.METRICS_TOKEN
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(credentials.encode(), token.encode())
    )


@read_only
def metrics(request: HttpRequest) -> HttpResponse:
    user = api_user(request)
    if not may_scrape(request, user):
        if user.is_authenticated:
            return json_error(403, "permission_denied", "Metrics are for staff and scrapers.")
        return json_error(
            401,
            "not_authenticated",
            "A staff session or API token, or the scraper's bearer token, is required.",
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
