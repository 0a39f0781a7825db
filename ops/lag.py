"""How far behind its sources each relay and subscriber is, in events: the console's lag page,
``/healthz`` and ``/metrics`` all read it here.

Positions are per source (an id of one context's log means nothing in another's): a relay's
lag is its source's highest notification id minus the relay's stored position; a subscriber's
lag, for each source it consumes, is that head minus the position it has applied from that
source. Notification ids have gaps, so a lag is an upper bound on the events still to come,
exact when the log has no gaps there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from config.container import Container
from messaging.handlers import handler, names
from messaging.models import RelayPosition, SubscriberPosition


@dataclass(frozen=True)
class Source:
    """One context's notification log: its name, its head, and the event types it publishes."""

    name: str
    head: int
    event_types: frozenset[str]


def sources(container: Container) -> tuple[list[Source], dict[str, str]]:
    """Every source's head, read from its event store now; and, by name, each source whose
    store did not answer, with why. The pages that show lag show what they can, and say what is
    down, as ``/healthz`` does."""
    heads, down = [], {}
    for context in container.contexts:
        try:
            app = container.application(context)  # opening a store can fail as reading it can
            heads.append(Source(app.catalogue.source, app.max_position(), app.catalogue.names))
        except Exception as exc:  # whatever the store's driver raises: reported, not raised
            down[context] = f"{type(exc).__name__}: {exc}"[:500]
    return heads, down


@dataclass(frozen=True)
class RelayLag:
    source: str
    head: int
    published: int  # the relay's position: the last notification id JetStream acknowledged
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        return max(self.head - self.published, 0)


@dataclass(frozen=True)
class SubscriberLag:
    subscriber: str
    source: str
    head: int
    applied: int  # the highest position of this source the subscriber has applied
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        return max(self.head - self.applied, 0)


def relay_lags(heads: Iterable[Source]) -> list[RelayLag]:
    rows = {row.source: row for row in RelayPosition.objects.all()}
    lags = []
    for source in heads:
        row = rows.get(source.name)
        published, updated_at = (row.position, row.updated_at) if row else (0, None)
        lags.append(RelayLag(source.name, source.head, published, updated_at))
    return lags


def subscriber_lags(heads: Sequence[Source]) -> list[SubscriberLag]:
    """One entry per registered subscriber and source it consumes (by its event types); a
    subscriber that never ran is behind by the whole log."""
    rows = {row.name: row for row in SubscriberPosition.objects.all()}
    lags = []
    for name in names():
        row = rows.get(name)
        patterns = handler(name).event_types
        for source in heads:
            if not any(matches(p, t) for p in patterns for t in source.event_types):
                continue
            applied = row.caught_up_to(source.name) if row else 0
            updated_at = row.updated_at if row else None
            lags.append(SubscriberLag(name, source.name, source.head, applied, updated_at))
    return lags


def matches(pattern: str, event_type: str) -> bool:
    """NATS subject matching on event types: ``*`` is one token, a final ``>`` one or more."""
    wanted, tokens = pattern.split("."), event_type.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return index == len(wanted) - 1 and len(tokens) > index
        if index >= len(tokens) or part not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


def worst_by_subscriber(lags: Iterable[SubscriberLag]) -> Mapping[str, SubscriberLag]:
    """Each subscriber's largest lag over its sources."""
    worst: dict[str, SubscriberLag] = {}
    for lag in lags:
        if lag.subscriber not in worst or lag.lag > worst[lag.subscriber].lag:
            worst[lag.subscriber] = lag
    return worst
