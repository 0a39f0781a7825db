"""Building an application survives another process creating the same tables at that moment."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import InternalError

from config.container import created


class Racing:
    """Stands in for an application whose first table creation loses the race."""

    failures: list[str] = []

    def __init__(self, env: dict[str, Any]) -> None:
        if self.failures:
            raise InternalError(self.failures.pop(0))
        self.env = env


def test_a_lost_race_to_create_the_tables_is_tried_again() -> None:
    Racing.failures = ["tuple concurrently updated", "tuple concurrently updated"]
    assert created(Racing, {"PERSISTENCE_MODULE": "x"}).env == {"PERSISTENCE_MODULE": "x"}  # type: ignore[type-var]


def test_any_other_error_is_raised_at_once() -> None:
    Racing.failures = ["permission denied for schema public", "unused"]
    with pytest.raises(InternalError, match="permission denied"):
        created(Racing, {})  # type: ignore[type-var]
    assert Racing.failures == ["unused"]
