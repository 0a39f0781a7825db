"""Idempotency keys (the first answer to a (user, key), kept so a retry gets the same one), and
the budgets that throttle password attempts."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class PasswordAttemptBudget(models.Model):
    """How far ahead one client's, or one username's, password attempts are booked at the
    auth rate (``api.throttling.PasswordAttemptThrottle``). Kept in the database, so every web
    process books against the same budget."""

    key = models.CharField(primary_key=True, max_length=100)
    busy_until = models.FloatField(help_text="a Unix time")

    def __str__(self) -> str:
        return self.key
