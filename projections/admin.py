"""The read models in the admin: browsable and searchable, never editable (projectors write)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin
from config.container import get_container
from kernel.money import format_cents
from ledger.domain import LedgerError
from projections.models import (
    AccountSummary,
    LedgerEntry,
    OrderSummary,
    ProductStock,
    TransferSummary,
)


@admin.register(AccountSummary)
class AccountSummaryAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "currency", "amount", "status", "version", "updated_at")
    list_filter = ("status", "currency")
    search_fields = ("id", "owner")
    actions = ["unfreeze_selected"]

    @admin.display(description="balance", ordering="balance")
    def amount(self, row: AccountSummary) -> str:
        return format_cents(row.balance)

    @admin.action(description="Unfreeze the selected accounts")
    def unfreeze_selected(self, request: HttpRequest, queryset: QuerySet[AccountSummary]) -> None:
        """Through the Account aggregate: the row changes when the projector applies it."""
        ledger = get_container().ledger
        done = 0
        for row in queryset:
            try:
                ledger.unfreeze_account(row.id)
                done += 1
            except LedgerError as exc:
                self.message_user(request, f"{row.id}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} of {len(queryset)} unfrozen.", messages.SUCCESS)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "account_id", "direction", "kind", "money", "balance", "transfer_id")
    list_filter = ("direction", "kind")
    search_fields = ("account_id", "transfer_id", "reference")
    date_hierarchy = "at"

    @admin.display(description="amount", ordering="amount")
    def money(self, row: LedgerEntry) -> str:
        return format_cents(row.amount)

    @admin.display(description="balance after", ordering="balance_after")
    def balance(self, row: LedgerEntry) -> str:
        return format_cents(row.balance_after)


@admin.register(TransferSummary)
class TransferSummaryAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "id", "from_account", "to_account", "money", "status")
    list_filter = ("status", "currency", "failure_code")
    search_fields = ("id", "from_account", "to_account", "reference")
    date_hierarchy = "started_at"

    @admin.display(description="amount", ordering="amount")
    def money(self, row: TransferSummary) -> str:
        return format_cents(row.amount)


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "status", "money", "account", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("id", "owner", "account")
    date_hierarchy = "created_at"

    @admin.display(description="total", ordering="total")
    def money(self, row: OrderSummary) -> str:
        return format_cents(row.total)


@admin.register(ProductStock)
class ProductStockAdmin(ReadOnlyAdmin):
    list_display = ("sku", "name", "money", "on_hand", "reserved", "available", "updated_at")
    search_fields = ("sku", "name")

    @admin.display(description="price", ordering="price")
    def money(self, row: ProductStock) -> str:
        return format_cents(row.price)
