"""The compliance subscriber's own memory: every outgoing transfer it has screened.

The rules look back over an account's recent transfers; this table is that history. The
subscriber writes a row in the same transaction as its stream position, so a transfer is in
the history exactly once however often it is delivered, and a row's presence means "already
screened": a redelivery or a replay screens nothing twice.
"""

from __future__ import annotations

from django.db import models


class ScreenedTransfer(models.Model):
    transfer_id = models.UUIDField(primary_key=True)
    account = models.UUIDField(help_text="the source account: the money went out of it")
    amount = models.BigIntegerField(help_text="cents")
    at = models.DateTimeField(help_text="when the transfer completed")

    class Meta:
        indexes = [models.Index(fields=["account", "at"], name="screened_by_account_time")]
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.transfer_id} from {self.account}"
