"""The ledger's record of what it has acted on: compliance decisions, and forgotten customers.

The accounts themselves are event-sourced; these tables only remember which escalated alerts
the ``ledger:compliance-decisions`` subscriber has applied, and which forgotten customers the
``ledger:forgotten-customers`` subscriber has retired the accounts of. Each is written in the
same transaction as its subscriber's stream position, so a replay of the stream skips what was
applied — and never re-freezes an account that staff have unfrozen since.
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


class RetiredCustomer(models.Model):
    """A forgotten customer whose accounts the ledger has closed or frozen."""

    customer = models.CharField(max_length=150, primary_key=True, help_text="a username")
    closed = models.PositiveIntegerField(help_text="its accounts closed afterwards")
    frozen = models.PositiveIntegerField(help_text="its accounts frozen afterwards (with money)")
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-applied_at"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.closed} closed, {self.frozen} frozen"
