"""An account is a row holding its balance; a transfer is one ledger row. Nothing is derived:
these rows are the record, as in most Django applications."""

from __future__ import annotations

from django.db import models


class OrmAccount(models.Model):
    owner = models.CharField(max_length=150)  # a username, as the ledger's accounts keep it
    balance = models.BigIntegerField()  # cents, as in the event-sourced ledger

    # Written out because mypy's Django plugin reads the test settings, which do not install
    # this app, and so would not give the model the manager Django gives it.
    objects: models.Manager[OrmAccount] = models.Manager()

    def __str__(self) -> str:
        return f"account {self.pk}"


class OrmEntry(models.Model):
    """One transfer: the money that moved, written in the transaction that moved it."""

    from_account = models.ForeignKey(OrmAccount, on_delete=models.PROTECT, related_name="+")
    to_account = models.ForeignKey(OrmAccount, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects: models.Manager[OrmEntry] = models.Manager()  # written out: see OrmAccount

    def __str__(self) -> str:
        return f"entry {self.pk}"
