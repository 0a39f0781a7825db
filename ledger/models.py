"""The ledger's record of the compliance decisions it has acted on.

The account itself is event-sourced; this table only remembers which escalated alerts the
``ledger:compliance-decisions`` subscriber has applied. It is written in the same transaction as
the subscriber's stream position, so a replay of the stream skips decisions already applied —
and never re-freezes an account that staff have unfrozen since.
"""

from __future__ import annotations

from django.db import models


class AppliedEscalation(models.Model):
    class Outcome(models.TextChoices):
        FROZEN = "frozen", "frozen"
        ALREADY_FROZEN = "already_frozen", "already frozen"
        CLOSED = "closed", "closed: nothing to freeze"

    alert_id = models.UUIDField(primary_key=True)
    account = models.UUIDField(db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-applied_at"]

    def __str__(self) -> str:
        return f"alert {self.alert_id}: account {self.account} {self.outcome}"
