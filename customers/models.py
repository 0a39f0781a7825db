"""The key table: each customer's data key, or, once the customer was forgotten, its tombstone.

It lives in Django's database (``DATABASE_URL``), never in an event store or the stream, so
that destroying a key here erases what it sealed everywhere else. A destroyed key keeps its row,
without its secret: the row says the customer was forgotten, so no new key can be made for
them, and a ciphertext under it reads as erased rather than as a key gone missing.
"""

from __future__ import annotations

import uuid

from django.db import models


class CustomerKey(models.Model):
    key_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.CharField(max_length=150, unique=True, help_text="the customer's username")
    # 32 random bytes (AES-256); NULL once destroyed. Never shown, never logged.
    secret = models.BinaryField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key {self.key_id} of {self.customer}" + (
            " (destroyed)" if self.destroyed_at else ""
        )
