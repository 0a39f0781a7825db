"""Aggregates folded without the library's per-event protocol assert.

Replaces: ``eventsourcing.domain.project_aggregate``, the repository's default fold, which
asserts ``isinstance(event, CanMutateProtocol)`` of every event it applies: a runtime-checkable
protocol, checked attribute by attribute.

Why it is safe: every event this system stores is one of its aggregates' own event classes,
each of which has ``mutate``; an event without it fails here with an AttributeError instead of
the library's AssertionError.

What would break it: events of classes that do not define ``mutate`` (the library would name
the problem; this would not).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, Repository


def fold(aggregate: Any, events: Iterable[Any]) -> Any:
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class FoldingRepository(Repository[UUID]):
    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        kwargs.setdefault("projector_func", fold)
        return super().get(aggregate_id, **kwargs)


class FoldsWithoutAsserts(Application[UUID]):
    def construct_repository(self) -> Repository[UUID]:
        repository = super().construct_repository()
        repository.__class__ = FoldingRepository  # the library's repository, as configured
        return repository
