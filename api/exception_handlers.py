"""One exception handler: every error becomes ``{"code", "message", "details"}``.

Domain errors carry a ``code`` and know nothing of HTTP; the status is decided here, once.
Errors that Django answers before or outside a DRF view (no URL matched, a method a plain view
does not take, a crash) get the same body under the paths that speak JSON
(``JSON_PATHS``), and Django's own pages everywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError as DjangoDatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from eventsourcing.persistence import PersistenceError
from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from api.errors import ApiError
from kernel.errors import DomainError

logger = logging.getLogger(__name__)

# Domain codes that are not "a business rule said no" (409).
STATUS_BY_DOMAIN_CODE = {"not_found": 404, "invalid": 400}

DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "invalid",
    exceptions.ValidationError: "invalid",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def error_response(exc: Exception) -> Response | None:
    """The response for a known error, or None for one we do not recognise (a 500)."""
    if isinstance(exc, ApiError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, DomainError):
        status = STATUS_BY_DOMAIN_CODE.get(exc.code, 409)
        return Response(error_body(exc.code, str(exc), exc.details), status=status)
    if isinstance(exc, RequestDataTooBig):
        message = f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        return Response(error_body("invalid", message), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        return _drf_response(exc)
    if isinstance(exc, (PersistenceError, DjangoDatabaseError)):
        logger.warning("storage unavailable: %s", exc)
        return Response(
            error_body(
                "unavailable", "Storage is unavailable; retry with the same Idempotency-Key."
            ),
            status=503,
            headers={"Retry-After": "1"},
        )
    return None


def _drf_response(exc: exceptions.APIException) -> Response:
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    headers = {}
    wait = getattr(exc, "wait", None)  # set on Throttled
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    if isinstance(exc, exceptions.ValidationError):
        whole = api_settings.NON_FIELD_ERRORS_KEY  # errors of the input as a whole
        details = exc.detail if isinstance(exc.detail, dict) else {whole: exc.detail}
        fields = ", ".join(str(name) for name in details if name != whole)
        if fields:
            message = f"Invalid input: {fields}."
        else:  # the input's own words ("Unable to log in with provided credentials.")
            message = " ".join(str(e) for e in _plain(details.get(whole) or ["Invalid input."]))
        return Response(error_body(code, message, _plain(details)), status=exc.status_code)
    return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's hook (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"])."""
    response = error_response(exc)
    if response is not None:
        set_rollback()
        request = context.get("request")
        renderer = getattr(request, "accepted_renderer", None)
        if request is not None and not isinstance(renderer, JSONRenderer | BrowsableAPIRenderer):
            # A view that renders a page or a schema (the API docs) answers errors in JSON too.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
    return response


# --- Errors Django answers itself ------------------------------------------------------------

JSON_PATHS = ("/api/", "/graphql", "/healthz", "/metrics")


def speaks_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PATHS)


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, headers=headers)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: no URL matched (an id that is no UUID, say), or a plain view's 404."""
    if speaks_json(request):
        return json_error(404, "not_found", f"Nothing is at {request.path[:200]}.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an error nothing expected (logged by Django with its traceback)."""
    if speaks_json(request):
        return json_error(500, "error", "Something went wrong on our side; it was logged.")
    return defaults.server_error(request)


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a plain Django view that only reads (``/healthz``, ``/metrics``): GET and HEAD, any
    other method 405 in the JSON error shape. It changes nothing, so it needs no CSRF check
    (which would otherwise answer a DELETE before the method could be refused)."""

    @csrf_exempt
    @wraps(view)
    def only_reads(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            message = f'Method "{request.method}" not allowed.'
            return json_error(405, "method_not_allowed", message, {"Allow": "GET, HEAD"})
        return view(request, *args, **kwargs)

    return only_reads
