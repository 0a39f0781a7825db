"""The read models in the admin: browsable and searchable, never editable (projectors write)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kernel.money import format_cents
from projections.models import AccountSummary


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccountSummary)
class AccountSummaryAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "currency", "amount", "status", "version", "updated_at")
    list_filter = ("status", "currency")
    search_fields = ("id", "owner")

    @admin.display(description="balance", ordering="balance")
    def amount(self, row: AccountSummary) -> str:
        return format_cents(row.balance)
