"""JSON parsing that keeps money exact and refuses what JSON should not contain, or leaves
ambiguous."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object from its pairs; a key given twice is refused (the JSON RFC leaves its meaning
    open: Python keeps the last, other parsers the first, so a body could mean two things)."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValidationError({key: ["Given more than once in the same object."]})
        seen[key] = value
    return seen


def parse_exactly(data: bytes, encoding: str = "utf-8") -> Any:
    """JSON text as Python: numbers with a fraction as ``Decimal``, never ``float``; NaN and
    Infinity refused, and so is an object that names a key twice (``ParseError`` or
    ``ValidationError``, both 400 ``invalid``)."""
    try:
        return json.loads(
            data.decode(encoding),
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_repeats,
        )
    except RecursionError:
        raise ParseError("JSON parse error - nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"JSON parse error - {exc}") from None


class ExactJSONParser(JSONParser):
    """The API's request bodies, parsed by ``parse_exactly``."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        return parse_exactly(stream.read(), encoding)
