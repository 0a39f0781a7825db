"""Content negotiation that answers the common request without parsing it.

Replaces: DRF's ``DefaultContentNegotiation.select_renderer`` for a request that names no
format (no ``?format=``, no suffix) and accepts anything, or exactly the first renderer's media
type, which DRF answers by parsing the query string and the Accept header.

Why it is safe: DRF gives such a request the first renderer, and so does this; every other
request is DRF's to decide (a test compares both over many requests).

What would break it: a DRF release that chose otherwise for ``*/*`` (it has not).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class FirstRendererNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with the common request answered first."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        first = renderers[0] if renderers else None
        meta: dict[str, Any] = request.META
        if (
            first is not None
            and format_suffix is None
            and not meta.get("QUERY_STRING")
            and meta.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type)
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
