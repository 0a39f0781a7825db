"""The OpenAPI vocabulary every endpoint shares: the one error body and the answers that carry
it, a page of results, the event envelope, and the ``Idempotency-Key`` header.

Only the schema reads these; the bodies themselves are made by ``api.exception_handlers``,
``api.pagination`` and ``kernel.events``, and the schema tests hold the two together.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers

from api.idempotency import HEADER


class InputSerializerSchema(OpenApiSerializerExtension):
    """A request body refuses fields it does not declare (``InputSerializer``): say so."""

    target_class = "api.serializers.InputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


class ErrorOutput(serializers.Serializer):
    """Every answer that is not a success (API.md, "Errors")."""

    code = serializers.CharField(help_text="A stable snake_case name, e.g. insufficient_funds.")
    message = serializers.CharField(help_text="For people; may change.")
    details = serializers.DictField(help_text="Per field errors, or the ids a refusal concerns.")


# Each status's meaning, and the example body a client sees.
_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "Invalid input; nothing changed. `details` names each bad field.",
        {
            "code": "invalid",
            "message": "Invalid input: amount.",
            "details": {"amount": ["Amount must be greater than zero."]},
        },
    ),
    401: (
        "No credentials, or bad ones.",
        {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "details": {},
        },
    ),
    403: (
        "Authenticated, but not allowed (staff only).",
        {
            "code": "permission_denied",
            "message": "You do not have permission to perform this action.",
            "details": {},
        },
    ),
    404: (
        "No such resource — or one that is not yours, which looks the same — or a page past "
        "the end.",
        {
            "code": "not_found",
            "message": "Account 6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2 not found.",
            "details": {},
        },
    ),
    422: (
        "This Idempotency-Key was used before with a different request; nothing changed.",
        {
            "code": "idempotency_conflict",
            "message": "This Idempotency-Key was used with a different request.",
            "details": {},
        },
    ),
    429: (
        "Too many attempts; retry after the Retry-After header's seconds.",
        {
            "code": "throttled",
            "message": "Request was throttled. Expected available in 42 seconds.",
            "details": {},
        },
    ),
    503: (
        "Storage is unavailable (`unavailable`), or the projection has not reached "
        "`min_position` in time (`projection_behind`); retry, with the same Idempotency-Key.",
        {
            "code": "projection_behind",
            "message": "The accounts projection has not reached position 42 of the ledger log "
            "within 5 s; retry shortly.",
            "details": {"projection": "accounts", "source": "ledger", "min_position": 42},
        },
    ),
}


def errors(*statuses: int, refusals: dict[str, str] | None = None) -> dict[int, OpenApiResponse]:
    """The error answers an operation can give, each with the error body and an example.

    ``refusals`` are the business rules that may say no (409): code → an example message.
    """
    answers = {
        status: OpenApiResponse(
            ErrorOutput,
            description=_ERRORS[status][0],
            examples=[OpenApiExample(_ERRORS[status][1]["code"], _ERRORS[status][1])],
        )
        for status in statuses
    }
    if refusals:
        answers[409] = OpenApiResponse(
            ErrorOutput,
            description="A business rule said no; nothing changed. `code` names the rule.",
            examples=[
                OpenApiExample(code, {"code": code, "message": message, "details": {}})
                for code, message in refusals.items()
            ],
        )
    return dict(sorted(answers.items()))


READ = (401, 404, 503)  # reading one thing
LIST = (400, 401, 404, 503)  # a page of a projection: bad filters, a page past the end, behind
WRITE = (400, 401, 404, 422, 503)  # an idempotent write to one thing

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    description="Any string of 1 to 255 characters. The same key and body again returns the "
    "first answer and does nothing more; the same key with another body is 422.",
)


class PageParameters(serializers.Serializer):
    page = serializers.IntegerField(required=False, min_value=1, help_text="1 when omitted")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=500, help_text="50 when omitted"
    )


@cache
def page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of one page of ``item``: ``{"count", "next", "previous", "results"}``."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
    }
    name = item.__name__.removesuffix("Output")
    return type(f"{name}Page", (serializers.Serializer,), fields)


# The envelope has fields named ``type`` and ``data``, which a Serializer subclass cannot
# declare (``data`` is the serializer's own output): so it is described, never instantiated.
EVENT = inline_serializer(
    "Event",
    {
        "id": serializers.UUIDField(),
        "type": serializers.CharField(help_text="e.g. account.debited"),
        "source": serializers.CharField(help_text="the context whose store holds it"),
        "aggregate_id": serializers.UUIDField(),
        "aggregate_version": serializers.IntegerField(),
        "position": serializers.IntegerField(allow_null=True),
        "timestamp": serializers.DateTimeField(),
        "correlation_id": serializers.CharField(allow_null=True),
        "causation_id": serializers.CharField(allow_null=True),
        "data": serializers.DictField(),
    },
)
EVENTS = inline_serializer("Events", {"results": EVENT.__class__(many=True)})
