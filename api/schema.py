"""The OpenAPI vocabulary every endpoint shares: the one error body and the answers that carry
it, a page of results, the event envelope, and the ``Idempotency-Key`` header.

Only the schema reads these; the bodies themselves are made by ``api.exception_handlers``,
``api.pagination`` and ``kernel.events``, and the schema tests hold the two together.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers

from api.idempotency import HEADER, KEY_PATTERN
from kernel.money import amount_pattern


class InputSerializerSchema(OpenApiSerializerExtension):
    """A request body refuses fields it does not declare (``InputSerializer``): say so."""

    target_class = "api.serializers.InputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


class AmountFieldSchema(OpenApiSerializerFieldExtension):
    """An amount given is exactly what ``parse_amount`` takes: a decimal string within the
    maximum (its pattern is written from it), or a JSON number of whole cents. An amount shown
    is a decimal string with two places (a balance may be 0.00)."""

    target_class = "api.serializers.AmountField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        if direction == "response":
            return {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "example": "12.50"}
        largest = settings.MAX_AMOUNT_CENTS // 100
        return {
            "oneOf": [
                {"type": "string", "pattern": amount_pattern(settings.MAX_AMOUNT_CENTS)},
                {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMinimum": True,
                    "maximum": largest,
                    "multipleOf": 0.01,
                },
            ],
            "example": "12.50",
        }


class TextFieldSchema(OpenApiSerializerFieldExtension):
    """A text field's schema, saying that it takes no NUL (DRF refuses one)."""

    target_class = "api.serializers.TextField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        schema["pattern"] = r"^[^\x00]*$"
        return schema


class ErrorOutput(serializers.Serializer):
    """Every answer that is not a success (docs/reference.md, "Errors")."""

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
        "Storage is unavailable (`unavailable`; retry, with the same Idempotency-Key), or, on a "
        "read given `min_position`, its projection has not reached it (`projection_behind`).",
        {
            "code": "unavailable",
            "message": "Storage is unavailable; retry with the same Idempotency-Key.",
            "details": {},
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
WRITE = (400, 401, 404, 422, 429, 503)  # an idempotent write to one thing
# Every write may be throttled (api.throttling.WriteRateThrottle): 429 is in each one's errors.

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    description="1 to 255 printable ASCII characters, neither starting nor ending with a "
    "space. The same key and body again returns the first answer and does nothing more; the "
    "same key with another body is 422.",
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


# --- Links: what a created thing's answer lets a client do next ------------------------------
# OpenAPI links name, for an operation's answer, the operations its values feed: a client (and
# a stateful test) can open an account, then read it, pay into it, transfer from it, and so on.

_ACCOUNT_ID = "$response.body#/id"
_ACCOUNT_READS_AND_MOVES = (
    "get_account", "deposit", "withdraw", "account_events", "freeze_account", "unfreeze_account",
    "close_account",
)  # fmt: skip
_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("open_account", "201"): {
        **{
            target: {"operationId": target, "parameters": {"account_id": _ACCOUNT_ID}}
            for target in _ACCOUNT_READS_AND_MOVES
        },
        "account_transactions": {
            "operationId": "account_transactions",
            "parameters": {"account_id": _ACCOUNT_ID, "min_position": "$response.body#/position"},
        },
        "transfer_funds": {
            "operationId": "transfer_funds",
            "requestBody": {"from_account": _ACCOUNT_ID},
        },
        "place_order": {"operationId": "place_order", "requestBody": {"account": _ACCOUNT_ID}},
    },
    ("deposit", "201"): {
        "withdraw": {
            "operationId": "withdraw",
            "parameters": {"account_id": "$response.body#/account"},
        },
        "transfer_funds": {
            "operationId": "transfer_funds",
            "requestBody": {"from_account": "$response.body#/account"},
        },
    },
    ("transfer_funds", "201"): {
        "get_transfer": {
            "operationId": "get_transfer",
            "parameters": {"transfer_id": "$response.body#/id"},
        },
    },
    ("place_order", "201"): {
        **{
            target: {
                "operationId": target,
                "parameters": {"order_id": "$response.body#/id"},
            }
            for target in ("ship_order", "cancel_order")
        },
        **{
            target: {
                "operationId": target,
                "parameters": {
                    "order_id": "$response.body#/id",
                    "min_position": "$response.body#/position",
                },
            }
            for target in ("get_order", "order_history")
        },
    },
    ("create_product", "201"): {
        "add_stock": {"operationId": "add_stock", "parameters": {"sku": "$response.body#/sku"}},
    },
    ("list_alerts", "200"): {
        "resolve_alert": {
            "operationId": "resolve_alert",
            "parameters": {"alert_id": "$response.body#/results/0/id"},
        },
    },
}


def add_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: the links above, on the answers they start from."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for (operation_id, status), links in _LINKS.items():
                if operation.get("operationId") == operation_id:
                    operation["responses"][status]["links"] = links
    return result
