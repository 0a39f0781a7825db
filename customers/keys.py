"""The vault's key table in Django's database (``customers.models.CustomerKey``).

Each operation commits on its own, before the event that uses it is stored: a key is kept
before anything is sealed under it, so no stored ciphertext can name a key that was rolled back.
Destroying a key overwrites its row; what a database keeps of old rows beyond that (PostgreSQL's
dead row versions and WAL until vacuumed and recycled, backups) is in docs/decisions/0006.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import CustomerKey
from customers.vault import DataKey


def _key(row: CustomerKey) -> DataKey:
    secret = None if row.secret is None else bytes(row.secret)  # a memoryview on PostgreSQL
    return DataKey(str(row.key_id), row.customer, secret)


class DatabaseKeys:
    """A ``customers.vault.KeyStore`` on the ``CustomerKey`` table."""

    def for_customer(self, customer: str) -> DataKey | None:
        row = CustomerKey.objects.filter(customer=customer).first()
        return None if row is None else _key(row)

    def add(self, customer: str, secret: bytes) -> DataKey:
        try:
            with transaction.atomic():
                row = CustomerKey.objects.create(customer=customer, secret=secret)
        except IntegrityError:  # a racing request kept one first, or a tombstone is there
            row = CustomerKey.objects.get(customer=customer)
        return _key(row)

    def by_id(self, key_ids: Collection[str]) -> dict[str, DataKey]:
        rows = CustomerKey.objects.filter(key_id__in=set(key_ids))
        return {str(row.key_id): _key(row) for row in rows}

    def destroy(self, customer: str) -> None:
        now = timezone.now()
        try:
            with transaction.atomic():
                row, _ = CustomerKey.objects.get_or_create(
                    customer=customer, defaults={"secret": None, "destroyed_at": now}
                )
        except IntegrityError:  # a racing request kept a key for the customer just now
            row = CustomerKey.objects.get(customer=customer)
        # Whichever row is there, live or not: destroyed once, when first destroyed.
        CustomerKey.objects.filter(pk=row.pk, destroyed_at__isnull=True).update(
            secret=None, destroyed_at=now
        )
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            # SQLite's write-ahead log still holds the pages that held the key, until a
            # checkpoint moves them into the file (where secure_delete zeroes the key) and
            # truncates it. Best effort: a reader busy now leaves it to the next checkpoint.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
