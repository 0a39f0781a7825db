"""Serializer pieces every API shares: exact amounts, text as given, inputs that refuse
unknown fields and values of the wrong JSON type, and one way to validate and render."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any, Protocol, cast

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework import serializers

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
    if value is None and field.allow_null:
        return None
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
        """The validated body, or a 400 ``invalid`` naming each bad field."""
        return serialization().validate(cls, data)

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


class BoundedListField(serializers.ListField):
    """A list whose length is checked before any item is: DRF's ListField validates every item
    and only then counts them, so a body of a hundred thousand little items would all be read."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return list(super().to_internal_value(data))


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
    """``serializer_class(instance).data``, as a plain dict."""
    return serialization().render(serializer_class, instance)


def render_many(serializer_class: type[serializers.Serializer], rows: Iterable[Any]) -> list[Any]:
    return serialization().render_many(serializer_class, rows)


class PerRequestSerializers:
    """DRF's own way: a serializer made for each body validated and each object rendered.
    ``settings.EVENTBANK_SERIALIZATION`` names the class the API uses (the tuning package has
    one that makes fewer)."""

    @staticmethod
    def validate(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @staticmethod
    def render(serializer_class: type[serializers.Serializer], instance: Any) -> dict[str, Any]:
        return dict(serializer_class(instance).data)

    @staticmethod
    def render_many(
        serializer_class: type[serializers.Serializer], rows: Iterable[Any]
    ) -> list[Any]:
        return list(serializer_class(rows, many=True).data)


class Serialization(Protocol):
    def validate(
        self, serializer_class: type[serializers.Serializer], data: Any
    ) -> dict[str, Any]: ...

    def render(
        self, serializer_class: type[serializers.Serializer], instance: Any
    ) -> dict[str, Any]: ...

    def render_many(
        self, serializer_class: type[serializers.Serializer], rows: Iterable[Any]
    ) -> list[Any]: ...


def serialization() -> Serialization:
    return _serialization(settings.EVENTBANK_SERIALIZATION)


@cache
def _serialization(name: str) -> Serialization:
    return cast(Serialization, import_string(name)())
