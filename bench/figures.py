"""A benchmark figure: a value beside its anchor, measured in the same run, and their ratio."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    anchor: str | None = None
    anchor_value: float | None = None
    lower_is_better: bool = False  # seconds: the ratio is then anchor / value
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.value or not self.anchor_value:
            return None
        if self.lower_is_better:
            return self.anchor_value / self.value
        return self.value / self.anchor_value
