"""Re-processing parked messages: each through its subscriber's handler, in a transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from messaging.handlers import handler
from messaging.models import DeadLetter
from messaging.subscriber import decode_payload


@dataclass(frozen=True)
class RetryOutcome:
    dead_letter: int
    resolved: bool
    error: str = ""


def retry(dead_letters: Iterable[DeadLetter]) -> list[RetryOutcome]:
    """Apply each parked message again; resolve the ones that now succeed."""
    outcomes = []
    for dead_letter in dead_letters:
        try:
            with transaction.atomic():
                delivery = decode_payload(
                    dead_letter.payload.encode(),
                    sequence=dead_letter.stream_sequence,
                    subject=dead_letter.subject,
                )
                handler(dead_letter.subscriber).apply([delivery])
                dead_letter.resolved_at = timezone.now()
                dead_letter.save(update_fields=["resolved_at", "last_seen"])
            outcomes.append(RetryOutcome(dead_letter.pk, resolved=True))
        except Exception as exc:  # whatever the handler raises, the letter stays parked
            error = f"{type(exc).__name__}: {exc}"[:2000]
            DeadLetter.objects.filter(pk=dead_letter.pk).update(
                attempts=dead_letter.attempts + 1, error=error, last_seen=timezone.now()
            )
            outcomes.append(RetryOutcome(dead_letter.pk, resolved=False, error=error))
    return outcomes


def unresolved() -> Iterable[DeadLetter]:
    return DeadLetter.objects.filter(resolved_at__isnull=True).order_by(
        "subscriber", "stream_sequence"
    )
