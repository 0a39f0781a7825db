"""What aggregates of every context may share."""

from __future__ import annotations

import copy
from typing import Any, Self


class FlatState:
    """For an aggregate whose state is immutable values and flat containers of them: its
    deep copy copies each container and shares the values, which is a whole copy.

    Aggregates are copied on hot paths: the library hands out a copy of each cached aggregate
    (so a command that fails leaves the cache as it was), and the saga runner copies a new saga
    before each attempt to start it. ``copy.deepcopy`` walks every entry and rebuilds every
    UUID and datetime through ``__reduce_ex__``; on a transfer that walk was a twentieth of a
    web worker's CPU. A subclass that keeps mutable things inside its containers must not use
    this (or must copy those too)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        copied = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, dict | list | set):
                vars(copied)[name] = value.copy()
        return copied
