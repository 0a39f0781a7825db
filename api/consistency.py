"""Read-your-writes: ``?min_position=N`` makes a projection read wait until it has applied N."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request

from api.errors import ApiError
from projections.selectors import wait_until_caught_up


def require_position(request: Request, projection: str, *, source: str) -> None:
    """Wait, bounded, for the write the client names; 503 ``projection_behind`` if it lags."""
    raw = request.query_params.get("min_position")
    if raw is None:
        return
    try:
        position = int(raw)
        if position < 0:
            raise ValueError
    except ValueError:
        raise ApiError(400, "invalid", "min_position must be a whole number ≥ 0.",
                       {"min_position": ["A whole number ≥ 0."]}) from None  # fmt: skip
    timeout = settings.READ_YOUR_WRITES_TIMEOUT_SECONDS
    if not wait_until_caught_up(projection, source, position, timeout=timeout):
        raise ApiError(
            503,
            "projection_behind",
            f"The {projection} projection has not reached position {position} of the {source} "
            f"log within {timeout:g} s; retry shortly.",
            {"projection": projection, "source": source, "min_position": position},
        )
