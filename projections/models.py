"""Read models. Written only by their projectors; derived, so they can always be rebuilt.

Each row records the aggregate version it reflects: a projector applies an event only to a row
that is behind it, so replaying history over existing rows changes nothing.
"""

from __future__ import annotations

from django.db import models


class AccountSummary(models.Model):
    """The ``accounts`` projection: one row per ledger account."""

    id = models.UUIDField(primary_key=True)
    owner = models.CharField(max_length=150, db_index=True)
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(help_text="cents")
    status = models.CharField(max_length=16, db_index=True)
    version = models.PositiveIntegerField(help_text="the account's version this row reflects")
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["opened_at", "id"]
        verbose_name = "account (projection)"
        verbose_name_plural = "accounts (projection)"

    def __str__(self) -> str:
        return f"{self.owner} {self.id}"


class LedgerEntry(models.Model):
    """The ``transactions`` projection: one row per ledger entry (a credit or a debit)."""

    account_id = models.UUIDField()
    version = models.PositiveIntegerField(help_text="the account's version this entry made")
    direction = models.CharField(max_length=6, choices=[("credit", "credit"), ("debit", "debit")])
    kind = models.CharField(max_length=16, db_index=True)  # deposit, withdrawal, transfer, refund
    amount = models.BigIntegerField(help_text="cents, positive")
    balance_after = models.BigIntegerField(help_text="cents")
    counterparty = models.UUIDField(null=True, blank=True)
    transfer_id = models.UUIDField(null=True, blank=True, db_index=True)
    reference = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_id", "version"], name="one_entry_per_version")
        ]
        indexes = [models.Index(fields=["account_id", "-at"], name="entries_by_account_time")]
        ordering = ["-at", "-version"]
        verbose_name_plural = "ledger entries (projection)"

    def __str__(self) -> str:
        return f"{self.account_id} v{self.version} {self.direction} {self.amount}"


class AlertSummary(models.Model):
    """The ``alerts`` projection: one row per compliance alert, with its review."""

    id = models.UUIDField(primary_key=True)
    transfer_id = models.UUIDField(db_index=True)
    account = models.UUIDField(db_index=True)
    amount = models.BigIntegerField(help_text="cents")
    rule = models.CharField(max_length=32, db_index=True)
    reason = models.TextField()
    status = models.CharField(max_length=16, db_index=True)  # open, cleared, escalated
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)
    version = models.PositiveIntegerField(help_text="the alert's version this row reflects")

    class Meta:
        ordering = ["-raised_at", "id"]
        verbose_name = "alert (projection)"
        verbose_name_plural = "alerts (projection)"

    def __str__(self) -> str:
        return f"{self.rule} {self.transfer_id} ({self.status})"
