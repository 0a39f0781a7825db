"""An order's history as both APIs show it: its status history, folded from the order's own
events, and every event of it and its sagas as published envelopes, read from the orders event
store. Many orders' histories are one read of the store (``api.history.recorded``), so a page of
orders with their histories costs one query, not one per order and saga."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from rest_framework import serializers

from api.history import Recorded, recorded
from api.serializers import render_many
from config.container import get_container
from kernel.events import envelope
from orders.domain import status_history


class StatusOutput(serializers.Serializer):
    status = serializers.CharField()
    at = serializers.DateTimeField()


def order_histories(order_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    """Each order's ``status_history`` and ``events`` (in the order they happened), by id; an
    id with no events has empty ones."""
    app = get_container().orders
    order_of = {aggregate: order for order in order_ids for aggregate in app.history_of(order)}
    found: dict[UUID, list[Recorded]] = {order: [] for order in order_ids}
    for record in recorded(app, order_of):
        found[order_of[record.event.originator_id]].append(record)
    histories = {}
    for order, records in found.items():
        records.sort(key=lambda r: r.event.timestamp)
        own = [r.event for r in records if r.event.originator_id == order]
        histories[order] = {
            "status_history": render_many(StatusOutput, status_history(own)),
            "events": [
                envelope(r.event, catalogue=app.catalogue, position=r.position) for r in records
            ],
        }
    return histories
