"""Replay from the event stores themselves — for rebuilds when the stream has lost old messages.

Each context's notification log is read in order and rendered through the same envelope the
relay publishes, so a handler cannot tell a replayed event from a delivered one (except that a
replayed delivery has no stream sequence: 0). Replaying does not move a subscriber's stream
position: the rebuild that calls it decides where live consumption resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime

from django.db import transaction
from eventsourcing.persistence import Notification

from kernel.application import EventSourcedApplication
from kernel.events import envelope
from messaging.models import SubscriberPosition
from messaging.subscriber import Delivery, Handler


def type_matches(pattern: str, event_type: str) -> bool:
    """NATS subject matching on event types: ``*`` is one token, ``>`` the rest."""
    wanted, actual = pattern.split("."), event_type.split(".")
    for i, part in enumerate(wanted):
        if part == ">":
            return len(actual) > i
        if i >= len(actual) or (part != "*" and part != actual[i]):
            return False
    return len(wanted) == len(actual)


Positions = Mapping[str, int]  # a position per source: {"ledger": 42}


def stored_deliveries(
    applications: Mapping[str, EventSourcedApplication],
    event_types: Sequence[str],
    *,
    since: datetime | None = None,
    after: Positions | None = None,
    until: Positions | None = None,
    page: int = 1000,
) -> Iterator[Delivery]:
    """Every stored event a handler wants, source by source, each source in its log's order:
    from just after ``after`` (default: the start) up to ``until`` inclusive (default: the end),
    leaving out events older than ``since``."""
    for source, app in applications.items():
        log = _log(app, (after or {}).get(source, 0), (until or {}).get(source), page)
        for notification in log:
            event = app.decode(notification)
            if since is not None and event.timestamp < since:
                continue
            message = envelope(event, catalogue=app.catalogue, position=notification.id)
            if any(type_matches(p, message["type"]) for p in event_types):
                subject = f"store.{app.catalogue.source}.{message['type']}"
                yield Delivery(sequence=0, subject=subject, event=message)


def _log(
    app: EventSourcedApplication, after: int, until: int | None, page: int
) -> Iterator[Notification]:
    """A context's notification log from just after ``after`` up to ``until`` (inclusive)."""
    position = after
    while notifications := app.notifications_after(position, page):
        for notification in notifications:
            if until is not None and notification.id > until:
                return
            yield notification
        position = notifications[-1].id


def replay_from_store(
    handler: Handler,
    applications: Mapping[str, EventSourcedApplication],
    *,
    since: datetime | None = None,
    after: Positions | None = None,
    until: Positions | None = None,
    batch: int = 500,
    on_batch: Callable[[Sequence[Delivery]], None] | None = None,
) -> int:
    """Apply stored history to ``handler`` in transactional batches; return how many events.

    Each batch holds the handler's subscriber lock, as the live subscriber's batches do, so a
    replay onto rows that a live subscriber also writes never interleaves with it."""
    applied = 0
    pending: list[Delivery] = []
    deliveries = stored_deliveries(
        applications, handler.event_types, since=since, after=after, until=until
    )
    for delivery in deliveries:
        pending.append(delivery)
        if len(pending) == batch:
            applied += _apply(handler, pending, on_batch)
            pending = []
    if pending:
        applied += _apply(handler, pending, on_batch)
    return applied


def _apply(
    handler: Handler,
    deliveries: list[Delivery],
    on_batch: Callable[[Sequence[Delivery]], None] | None,
) -> int:
    with transaction.atomic():
        SubscriberPosition.locked(handler.name)
        handler.apply(deliveries)
    if on_batch is not None:
        on_batch(deliveries)
    return len(deliveries)
