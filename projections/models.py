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
    balance = models.BigIntegerField(help_text="cents, posted")
    held = models.BigIntegerField(default=0, help_text="cents held on it by pending holds")
    incoming = models.BigIntegerField(default=0, help_text="cents pending holds will bring it")
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

    @property
    def available(self) -> int:
        return self.balance - self.held


class LedgerEntry(models.Model):
    """The ``transactions`` projection: one row per ledger entry — a credit or a debit, posted;
    or money a hold set aside (pending), and set free again when the hold ended (released)."""

    class Phase(models.TextChoices):
        POSTED = "posted"
        PENDING = "pending"
        RELEASED = "released"

    account_id = models.UUIDField()
    version = models.PositiveIntegerField(help_text="the account's version this entry made")
    direction = models.CharField(max_length=6, choices=[("credit", "credit"), ("debit", "debit")])
    kind = models.CharField(max_length=16, db_index=True)  # deposit, withdrawal, transfer, ...
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.POSTED)
    amount = models.BigIntegerField(help_text="cents, positive")
    balance_after = models.BigIntegerField(help_text="cents, posted")
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


class TransferSummary(models.Model):
    """The ``transfers`` projection: one row per fund transfer, with its steps as they happened."""

    id = models.UUIDField(primary_key=True)
    from_account = models.UUIDField(db_index=True)
    to_account = models.UUIDField(db_index=True)
    amount = models.BigIntegerField(help_text="cents")
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=140, blank=True)
    status = models.CharField(max_length=16, db_index=True)
    steps = models.JSONField(default=list, help_text="[{name, status, at}] in order")
    # null, not "": the API's "did not fail", as the transfer itself says it
    failure_code = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    failure_reason = models.TextField(null=True, blank=True)  # noqa: DJ001
    version = models.PositiveIntegerField(help_text="the transfer saga's version this row reflects")
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "id"]
        verbose_name = "transfer (projection)"
        verbose_name_plural = "transfers (projection)"

    def __str__(self) -> str:
        return f"transfer {self.id} {self.status}"


class OrderSummary(models.Model):
    """The ``orders`` projection: one row per order, its current status and what it holds."""

    id = models.UUIDField(primary_key=True)
    owner = models.CharField(max_length=150, db_index=True, help_text="the customer's username")
    account = models.UUIDField(help_text="the account that pays")
    status = models.CharField(max_length=16, db_index=True)
    total = models.BigIntegerField(help_text="cents")
    currency = models.CharField(max_length=3)
    items = models.JSONField(help_text='[{"sku", "quantity", "price"}], prices in cents')
    version = models.PositiveIntegerField(help_text="the order's version this row reflects")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "order (projection)"
        verbose_name_plural = "orders (projection)"

    def __str__(self) -> str:
        return f"{self.owner} {self.id} {self.status}"


class ProductStock(models.Model):
    """The ``products`` projection: one row per product, with its stock on hand and held."""

    id = models.UUIDField(primary_key=True)
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    price = models.BigIntegerField(help_text="cents")
    on_hand = models.IntegerField()
    reserved = models.IntegerField(help_text="held for orders not yet shipped or cancelled")
    available = models.IntegerField(help_text="on hand minus reserved")
    version = models.PositiveIntegerField(help_text="the product's version this row reflects")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["sku"]
        verbose_name = "product stock (projection)"
        verbose_name_plural = "product stock (projection)"

    def __str__(self) -> str:
        return self.sku


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


class ProfileSummary(models.Model):
    """The ``profiles`` projection: one row per customer profile, its personal fields *sealed*.

    It keeps the ciphertext as published, never clear text: readers open it with the vault
    (``customers.vault``), so no database the read side writes ever holds personal data in
    clear. ``customer.forgotten`` empties the sealed fields and the key id; and were a copy of
    them left anywhere, its key is gone.
    """

    id = models.UUIDField(primary_key=True)
    customer = models.CharField(max_length=150, unique=True, help_text="the customer's username")
    # null: no profile recorded yet, or forgotten
    key_id = models.CharField(max_length=36, null=True, blank=True)  # noqa: DJ001
    full_name = models.TextField(null=True, blank=True, help_text="sealed")  # noqa: DJ001
    email = models.TextField(null=True, blank=True, help_text="sealed")  # noqa: DJ001
    address = models.TextField(null=True, blank=True, help_text="sealed")  # noqa: DJ001
    phone = models.TextField(null=True, blank=True, help_text="sealed")  # noqa: DJ001
    forgotten_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(help_text="the profile's version this row reflects")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["customer"]
        verbose_name = "customer profile (projection)"
        verbose_name_plural = "customer profiles (projection)"

    def __str__(self) -> str:
        return self.customer
