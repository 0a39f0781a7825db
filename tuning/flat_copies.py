"""Copies of aggregates whose state is flat: each container copied, its values shared.

Replaces: ``copy.deepcopy`` of an aggregate, which the library's repository makes of every
cached aggregate it hands out, and the saga runner of a new saga (and of a new batch's record)
before each attempt to start it. A deep copy walks every entry and rebuilds every UUID and
datetime through ``__reduce_ex__``; an account remembers the id of every transfer it took
part in, so its deep copy grows with its history.

Why it is safe: for an aggregate whose state is immutable values (UUIDs, strings, numbers,
datetimes) and flat containers of them, a copy of each container *is* a whole copy; the
classes this is installed on are those (``Account``; the sagas, whose history entries never
change once appended; ``TransferBatch``, a list of ids and two flags).

What would break it: an aggregate of such a class keeping a mutable thing inside a container
(a dict it later changes in place, inside a list): the copy and the cached aggregate would
share it.
"""

from __future__ import annotations

import copy
from typing import Any


def flat_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    copied = copy.copy(self)
    for name, value in vars(self).items():
        if isinstance(value, dict | list | set):
            vars(copied)[name] = value.copy()
    return copied


def install(*aggregate_classes: type) -> None:
    """Make ``copy.deepcopy`` of these classes' instances (and their subclasses') flat."""
    for aggregate_class in aggregate_classes:
        aggregate_class.__deepcopy__ = flat_deepcopy  # type: ignore[attr-defined]
