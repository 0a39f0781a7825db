"""Replay from the event stores themselves — for rebuilds when the stream has lost old messages.

Each context's notification log is read in order and rendered through the same envelope the
relay publishes, so a handler cannot tell a replayed event from a delivered one (except that a
replayed delivery has no stream sequence: 0). Replaying does not move a subscriber's stream
position: the rebuild that calls it decides where live consumption resumes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from django.db import transaction

from kernel.application import EventSourcedApplication
from kernel.events import envelope
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


def stored_deliveries(
    applications: Mapping[str, EventSourcedApplication],
    event_types: Sequence[str],
    *,
    since: datetime | None = None,
    page: int = 1000,
) -> Iterator[Delivery]:
    """Every stored event a handler wants, source by source, each source in its log's order."""
    for app in applications.values():
        position = 0
        while notifications := app.notifications_after(position, page):
            for notification in notifications:
                event = app.decode(notification)
                if since is not None and event.timestamp < since:
                    continue
                message = envelope(event, catalogue=app.catalogue, position=notification.id)
                if any(type_matches(p, message["type"]) for p in event_types):
                    subject = f"store.{app.catalogue.source}.{message['type']}"
                    yield Delivery(sequence=0, subject=subject, event=message)
            position = notifications[-1].id


def replay_from_store(
    handler: Handler,
    applications: Mapping[str, EventSourcedApplication],
    *,
    since: datetime | None = None,
    batch: int = 500,
) -> int:
    """Apply stored history to ``handler`` in transactional batches; return how many events."""
    applied = 0
    pending: list[Delivery] = []
    for delivery in stored_deliveries(applications, handler.event_types, since=since):
        pending.append(delivery)
        if len(pending) == batch:
            applied += _apply(handler, pending)
            pending = []
    if pending:
        applied += _apply(handler, pending)
    return applied


def _apply(handler: Handler, deliveries: list[Delivery]) -> int:
    with transaction.atomic():
        handler.apply(deliveries)
    return len(deliveries)
