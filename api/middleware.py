"""Every request runs in a correlation scope (the client's X-Correlation-ID, or a new one), and
is counted and logged once, inside that scope."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from uuid import uuid4

from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response
from prometheus_client import Counter

from kernel.correlation import correlation_scope

logger = logging.getLogger("eventbank.requests")

# Unregistered: /metrics puts it in the registry it builds per scrape, or, with several
# web workers, reads every worker's count from PROMETHEUS_MULTIPROC_DIR (ops/metrics.py).
REQUESTS = Counter(
    "eventbank_http_requests",
    "HTTP requests answered, by method and status code",
    ["method", "status"],
    registry=None,
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class CorrelationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Correlation-ID", "")
        correlation_id = given if _ACCEPTABLE_ID.match(given) else str(uuid4())
        request_id = str(uuid4())  # the command: what caused the events this request stores
        with correlation_scope(correlation_id, causation_id=request_id):
            response = self.get_response(request)
        response["X-Correlation-ID"] = correlation_id
        response["X-Request-ID"] = request_id
        return response


class RequestLogMiddleware:
    """Counts each request and logs one line for it, with its correlation id (it runs inside
    ``CorrelationMiddleware``'s scope)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        method = request.method if request.method in _METHODS else "OTHER"  # a bounded label
        REQUESTS.labels(method=method, status=str(response.status_code)).inc()
        if response.status_code >= 400:
            # Django logs an error response once the middleware has returned — outside the
            # correlation scope. Logged here, inside it, it is marked done and not logged again.
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        logger.info(
            "%s %s %s %.1fms",
            request.method, request.path, response.status_code, elapsed_ms,
            extra={
                "method": request.method, "path": request.path,
                "status": response.status_code, "duration_ms": elapsed_ms,
            },
        )  # fmt: skip
        return response
