"""A throwaway aggregate for the orders and compliance stores, for tests about where events
land and how they travel, not what they say. The test app publishes it as ``marker.placed``."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class Marker(Aggregate):
    @event("Placed")
    def __init__(self, id: UUID) -> None:
        pass
