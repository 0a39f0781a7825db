"""Positions kept in Django's database, read and written from the asyncio side."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.utils import timezone

from messaging.models import RelayPosition


class RelayPositions:
    """The relay's cursor per source (``PositionStore``)."""

    async def load(self, source: str) -> int:
        return await sync_to_async(_load_relay_position)(source)

    async def save(self, source: str, position: int) -> None:
        await sync_to_async(_save_relay_position)(source, position)


def _load_relay_position(source: str) -> int:
    row = RelayPosition.objects.filter(source=source).values_list("position", flat=True).first()
    return row or 0


def _save_relay_position(source: str, position: int) -> None:
    # One statement for every save but a source's first (one relay per source: no race).
    saved = RelayPosition.objects.filter(source=source).update(
        position=position, updated_at=timezone.now()
    )
    if not saved:
        RelayPosition.objects.create(source=source, position=position)
