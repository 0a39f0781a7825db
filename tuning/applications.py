"""The applications' speed-ups, put under the core: for each chosen module, its mixin goes
between ``kernel.application.EventSourcedApplication`` and the library's ``Application``.

Each mixin subclasses ``Application`` and is listed after the context's class, so Python's
method order puts it just above the library's class: the core's methods (its ``save``, with
correlation and positions) run first and call down into the tuned ones, which replace the
library's. Only ``config/container.py`` calls this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tuning.aggregate_cache import AggregateCache
from tuning.known_classes import KnownClasses
from tuning.many_reads import ManyReads
from tuning.snapshots import SnapshotsFromSavedState
from tuning.transcoder import OrjsonTranscoding

A = TypeVar("A")

MIXINS = {
    "snapshots": SnapshotsFromSavedState,
    "aggregate_cache": AggregateCache,
    "known_classes": KnownClasses,
    "many_reads": ManyReads,
    "transcoder": OrjsonTranscoding,
}


def tuned(kind: type[A], modules: Iterable[str]) -> type[A]:
    """``kind`` with the chosen modules' mixins beneath it (``kind`` itself when none)."""
    mixins = tuple(mixin for name, mixin in MIXINS.items() if name in set(modules))
    if not mixins:
        return kind
    # The library names an application (and so its tables) after its class unless told.
    namespace = {"__module__": kind.__module__, "name": getattr(kind, "name", kind.__name__)}
    return type(f"Tuned{kind.__name__}", (kind, *mixins), namespace)
