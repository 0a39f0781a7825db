"""Bodies validated and objects rendered by one bound serializer per class, shared.

Replaces: ``api.serializers.PerRequestSerializers``, DRF's way, which makes a serializer for
each body and each object: every serializer DRF makes deep-copies its class's declared fields
and binds the copies to itself, nested serializers included, and for a small body or object
that copy costs more than the validating or rendering.

Why it is safe: validating (``run_validation``) and rendering (``to_representation``) only
read a serializer's fields and keep nothing on it, so one instance per class, its fields bound
once before any thread shares it, serves every request in every thread. A refused body gets
the errors ``is_valid`` would give, without being validated a second time.

What would break it: a serializer that keeps state on itself while validating or rendering
(``self.context`` per request, a field that caches per call): none here does.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings


class SharedSerializers:
    @staticmethod
    def validate(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
        try:
            return dict(_bound(serializer_class).run_validation(data))
        except serializers.ValidationError as refused:
            raise serializers.ValidationError(_as_errors(refused.detail)) from None

    @staticmethod
    def render(serializer_class: type[serializers.Serializer], instance: Any) -> dict[str, Any]:
        return dict(_bound(serializer_class).to_representation(instance))

    @staticmethod
    def render_many(
        serializer_class: type[serializers.Serializer], rows: Iterable[Any]
    ) -> list[Any]:
        renderer = _bound(serializer_class)
        return [renderer.to_representation(row) for row in rows]


def _as_errors(detail: Any) -> Any:
    """``Serializer.errors`` of a refusal: a body of ``null`` is "No data provided"."""
    if isinstance(detail, list) and len(detail) == 1 and getattr(detail[0], "code", None) == "null":
        return {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", code="null")]}
    return detail


@cache
def _bound(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One instance of the class, its fields bound; shared, so only ever read from."""
    serializer = serializer_class()
    serializer.fields  # noqa: B018  bound here, before any thread shares the instance
    return serializer
