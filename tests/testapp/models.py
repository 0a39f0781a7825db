"""A test-only table: one row per effect a subscriber applied, so tests can count them."""

from django.db import models


class Effect(models.Model):
    subscriber = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64)  # deliberately not unique: doubles must show
    sequence = models.BigIntegerField()
    type = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.subscriber} #{self.sequence} {self.type}"
