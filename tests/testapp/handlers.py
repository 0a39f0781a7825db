"""A handler that records each delivery as an ``Effect``, and refuses events marked poison."""

from __future__ import annotations

from collections.abc import Sequence

from messaging.subscriber import Delivery
from tests.testapp.models import Effect


class Poison(Exception):
    pass


class EffectRecorder:
    name = "test:effects"
    event_types = (">",)

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            if d.event["data"].get("poison"):
                raise Poison(f"event {d.event['id']} is poison")
        Effect.objects.bulk_create(
            Effect(subscriber=self.name, event_id=d.event["id"], sequence=d.sequence, type=d.type)
            for d in deliveries
        )
