"""Serializer pieces every API shares: exact amounts, inputs that refuse unknown fields, and
input validated and output rendered from fields built once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

from kernel.money import InvalidAmount, format_cents, parse_amount


class AmountField(serializers.Field):
    """A decimal string ("12.50") outside, integer cents inside (its schema is
    ``api.schema.AmountFieldSchema``)."""

    default_error_messages = {"invalid": "{message}"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            'An amount with at most two decimals and no leading zeros, e.g. "12.50" '
            "(a JSON number is taken too, exactly).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_amount(data, max_cents=settings.MAX_AMOUNT_CENTS)
        except InvalidAmount as exc:
            self.fail("invalid", message=str(exc))
            raise  # unreachable: fail() raises

    def to_representation(self, value: int) -> str:
        return format_cents(value)


class TextField(serializers.CharField):
    """Text as given: kept with its spaces (DRF trims them, so "   " would be blank and 201
    characters could fit in 200), and without NUL, which DRF refuses and the schema says."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


# The JSON type each kind of field takes. DRF coerces where it can (5 becomes "5", "5" and 5.0
# become 5, 1 becomes True); a body is taken only with the types its schema gives.
_JSON_TYPES: tuple[tuple[type[serializers.Field], type | tuple[type, ...], str], ...] = (
    (serializers.BooleanField, bool, "a boolean"),
    (serializers.IntegerField, int, "an integer"),
    (serializers.CharField, str, "a string"),
    (serializers.ChoiceField, str, "a string"),
    (serializers.UUIDField, str, "a string"),
    (serializers.DateTimeField, str, "a string"),
)


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    for kind, types, name in _JSON_TYPES:
        if isinstance(field, kind):
            if isinstance(value, types) and (types is bool or not isinstance(value, bool)):
                return None
            return f"Must be {name}."
    return None


class InputSerializer(serializers.Serializer):
    """A request body: a JSON object with only the declared fields."""

    @classmethod
    def validated(cls, data: Any) -> dict[str, Any]:
        """The validated body, or a 400 ``invalid`` naming each bad field.

        ``cls(data=data).is_valid()`` builds and binds a copy of every field first, four times
        the cost of validating a transfer. Validating only reads the fields and keeps nothing on
        the serializer, so one instance per class, bound once (as for ``render``), checks every
        body in every thread. A refusal is given as ``is_valid`` gives it, without validating
        the body a second time."""
        try:
            return dict(_bound(cls).run_validation(data))
        except serializers.ValidationError as refused:
            raise serializers.ValidationError(_as_errors(refused.detail)) from None

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors = {
                name: ["This field is not allowed."] for name in data if name not in self.fields
            }
            for name, field in self.fields.items():
                if name in data and (wrong := _json_type_error(field, data[name])):
                    errors[name] = [wrong]
            if errors:
                raise serializers.ValidationError(dict(sorted(errors.items())))
        return super().to_internal_value(data)


def _as_errors(detail: Any) -> Any:
    """``Serializer.errors`` of a refusal: a body of ``null`` is "No data provided"."""
    if isinstance(detail, list) and len(detail) == 1 and getattr(detail[0], "code", None) == "null":
        return {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", code="null")]}
    return detail


class WholeNumberField(serializers.IntegerField):
    """An integer that, as text (a query parameter), is ASCII digits only. DRF's IntegerField
    takes whatever ``int()`` takes: " 1", "1_0", "1.0" and the digits of every script."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not _DIGITS.fullmatch(data):
            self.fail("invalid")
        return int(super().to_internal_value(data))


_DIGITS = re.compile(r"[0-9]{1,19}")
LARGEST_POSITION = 2**63 - 1  # a PostgreSQL bigint


class PositionField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "The context's log position of this write; pass it as ?min_position= to read "
            "your write from a projection.",
        )
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


def render(serializer_class: type[serializers.Serializer], instance: Any) -> dict[str, Any]:
    """``serializer_class(instance).data``, as a plain dict, from fields built once per class.

    Every serializer DRF makes deep-copies its class's declared fields and binds the copies
    to itself, nested serializers included; for a response that copy cost more than the
    rendering (7% of a web worker's CPU on a transfer). Rendering only reads the fields, so one
    instance per class, bound once, renders every response in every thread."""
    return _bound(serializer_class).to_representation(instance)


def render_many(serializer_class: type[serializers.Serializer], rows: Iterable[Any]) -> list[Any]:
    renderer = _bound(serializer_class)
    return [renderer.to_representation(row) for row in rows]


@cache
def _bound(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One instance of the class, its fields bound; shared, so only ever read from."""
    serializer = serializer_class()
    serializer.fields  # noqa: B018  bound here, before any thread shares the instance
    return serializer
