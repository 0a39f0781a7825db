"""Where the messaging side keeps its place: relay cursors, subscriber positions, dead letters."""

from __future__ import annotations

from django.db import models


class RelayPosition(models.Model):
    """The last notification id of one source's log that JetStream has acknowledged."""

    source = models.CharField(max_length=64, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.source}@{self.position}"


class SubscriberPosition(models.Model):
    """The last stream sequence a subscriber applied, written in the same transaction as its
    effects: after a crash it resumes exactly after what it committed."""

    name = models.CharField(max_length=64, primary_key=True)
    stream_sequence = models.BigIntegerField(default=0)
    # The highest position applied from each source's log, e.g. {"ledger": 42}: what a read
    # with ?min_position= compares against (positions are per source: an id of one context's
    # log means nothing in another's).
    source_positions = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}@{self.stream_sequence}"

    def caught_up_to(self, source: str) -> int:
        return int(self.source_positions.get(source, 0))

    @classmethod
    def locked(cls, name: str) -> SubscriberPosition:
        """The subscriber's row, locked until the transaction ends: whoever holds it is the only
        one writing what that subscriber owns (a rebuild's swap takes it too)."""
        row, _ = cls.objects.select_for_update().get_or_create(name=name)
        return row


class DeadLetter(models.Model):
    """A message a subscriber could not apply, parked so the subscriber could move on."""

    subscriber = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=255)
    stream_sequence = models.BigIntegerField()
    payload = models.TextField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "stream_sequence"], name="one_dead_letter_per_message"
            )
        ]
        ordering = ["stream_sequence"]

    def __str__(self) -> str:
        return f"{self.subscriber} #{self.stream_sequence} {self.subject}"
