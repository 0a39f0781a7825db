"""The published form of domain events: one catalogue per context, one envelope for everything.

A context publishes its events under public names (``account.debited``) that do not leak its
class names. Each context declares that contract in its ``contract.py`` as an
:class:`EventCatalogue`; the outbox relay and the event-browsing endpoints both render events
through :func:`envelope`, so what a subscriber receives and what an operator reads are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from kernel.money import format_cents

# Attributes every eventsourcing event has; the envelope carries them outside ``data``.
_BASE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
META_FIELD = "_meta"  # correlation and causation ids, stamped at save time

_EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/events")


def event_id(aggregate_id: UUID, version: int) -> UUID:
    """A stable id for the event at ``version`` of an aggregate: the same on every replay."""
    return uuid5(_EVENT_ID_NAMESPACE, f"{aggregate_id}:{version}")


@dataclass(frozen=True)
class EventType:
    """The public name of an event class, and which of its fields are amounts in cents.

    A money field is a key of the event's data (every whole number under it is an amount), or a
    dotted path into it: ``"items.price"`` is the ``price`` of each item in the list ``items``.
    """

    name: str
    money_fields: frozenset[str] = frozenset()

    @property
    def aggregate(self) -> str:
        return self.name.rsplit(".", 1)[0]


def published(name: str, *money_fields: str) -> EventType:
    return EventType(name, frozenset(money_fields))


class UnknownEventError(LookupError):
    """A stored event whose class the context's catalogue does not name."""


class EventCatalogue:
    """Which event classes a context publishes, and under what names."""

    def __init__(self, source: str, types: Mapping[type, EventType]):
        self.source = source
        self._types = dict(types)

    def __contains__(self, event_class: object) -> bool:
        return event_class in self._types

    @property
    def names(self) -> frozenset[str]:
        return frozenset(t.name for t in self._types.values())

    @property
    def classes(self) -> frozenset[type]:
        return frozenset(self._types)

    def type_of(self, event: object) -> EventType:
        try:
            return self._types[type(event)]
        except KeyError:
            raise UnknownEventError(
                f"{type(event).__qualname__} is not in the {self.source} event catalogue"
            ) from None

    def merged(self, other: EventCatalogue) -> EventCatalogue:
        return EventCatalogue(self.source, {**self._types, **other._types})


def envelope(event: Any, *, catalogue: EventCatalogue, position: int | None) -> dict[str, Any]:
    """The external form of a stored event (docs/reference.md, "Events on NATS")."""
    event_type = catalogue.type_of(event)
    state = vars(event)
    meta = state.get(META_FIELD) or {}
    data = {
        key: _public_value(value, event_type.money_fields, key)
        for key, value in state.items()
        if key not in _BASE_FIELDS and key != META_FIELD
    }
    return {
        "id": str(event_id(event.originator_id, event.originator_version)),
        "type": event_type.name,
        "source": catalogue.source,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "position": position,
        "timestamp": _iso(event.timestamp),
        "correlation_id": meta.get("correlation_id"),
        "causation_id": meta.get("causation_id"),
        "data": data,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _public_value(value: Any, money_paths: frozenset[str], key: str, money: bool = False) -> Any:
    """``value``, found under ``key``, in its published form; ``money_paths`` are relative to the
    mapping that holds ``key``."""
    money = money or key in money_paths
    inner = frozenset(p.removeprefix(f"{key}.") for p in money_paths if p.startswith(f"{key}."))
    return _published(value, inner, money)


def _published(value: Any, money_paths: frozenset[str], money: bool) -> Any:
    if money and isinstance(value, int) and not isinstance(value, bool):
        return format_cents(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _public_value(v, money_paths, str(k), money) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return [_published(v, money_paths, money) for v in value]
    return value
