"""Correlation and causation ids, carried in a context variable from the edge to every event.

An HTTP request or a consumed message opens a scope; every event stored inside it is stamped
with the scope's ids (see ``kernel.application``). Context variables follow ``asyncio`` tasks
and ``sync_to_async`` calls, so the ids survive the hop from a subscriber's loop to the ORM.
The scope also remembers the highest position it wrote to each notification log, which is
the position a write's reply hands back for reading one's own writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from uuid import uuid4


@dataclass(frozen=True)
class Correlation:
    correlation_id: str
    causation_id: str | None = None
    # The highest notification id written inside this scope, per log (an application's name).
    written: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def wrote(self, log: str, position: int) -> None:
        self.written[log] = max(position, self.written.get(log, 0))


_current: ContextVar[Correlation | None] = ContextVar("eventbank_correlation", default=None)


def current() -> Correlation | None:
    return _current.get()


@contextmanager
def correlation_scope(
    correlation_id: str | None = None, causation_id: str | None = None
) -> Iterator[Correlation]:
    """Everything stored inside this block belongs to one correlation (a new one if none given)."""
    scope = Correlation(correlation_id or str(uuid4()), causation_id)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


@contextmanager
def ensure_correlation() -> Iterator[Correlation]:
    """Join the current scope, or open a fresh one (an operator's shell, a test)."""
    scope = _current.get()
    if scope is not None:
        yield scope
        return
    with correlation_scope() as fresh:
        yield fresh
