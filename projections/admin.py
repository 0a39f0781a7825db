"""The read models in the admin: browsable and searchable, never editable (projectors write)."""

from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from kernel.money import format_cents
from projections.models import AccountSummary


@admin.register(AccountSummary)
class AccountSummaryAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "currency", "amount", "status", "version", "updated_at")
    list_filter = ("status", "currency")
    search_fields = ("id", "owner")

    @admin.display(description="balance", ordering="balance")
    def amount(self, row: AccountSummary) -> str:
        return format_cents(row.balance)
