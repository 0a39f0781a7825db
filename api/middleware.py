"""Every request runs in a correlation scope: the client's X-Correlation-ID, or a new one."""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import uuid4

from django.http import HttpRequest, HttpResponse

from kernel.correlation import correlation_scope

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
