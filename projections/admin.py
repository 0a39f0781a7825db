"""The read models in the admin: browsable and searchable, never editable (projectors write).

Rows link to their aggregate's events in the event browser. The transfer and order lists are
also the saga console: a saga stuck ``running`` or ``compensating`` (an order ``pending`` or
``cancelling``) can be finished now with "recover now", which runs it through its application —
the projection shows the outcome once the projector has applied it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from config.container import get_container
from kernel.errors import DomainError
from kernel.money import format_cents
from ops.admin_helpers import (
    ReadOnlyAdmin,
    act_on_each,
    events_link,
    id_column,
    money,
    short_id,
)
from projections.models import (
    AccountSummary,
    LedgerEntry,
    OrderSummary,
    ProductStock,
    TransferSummary,
)


@admin.register(AccountSummary)
class AccountSummaryAdmin(ReadOnlyAdmin):
    list_display = ("account", "owner", "amount", "status", "version", "updated_at", "events")
    list_filter = ("status", "currency")
    search_fields = ("id", "owner")
    fields = (
        "id", "owner", "amount", "status", "version", "opened_at", "updated_at", "entries",
        "events",
    )  # fmt: skip
    readonly_fields = ("amount", "entries", "events")
    actions = ["unfreeze_selected"]

    @admin.display(description="account", ordering="id")
    def account(self, row: AccountSummary) -> SafeString:
        return short_id(row.id)

    @admin.display(description="balance", ordering="balance")
    def amount(self, row: AccountSummary) -> str:
        return money(row.balance, row.currency)

    @admin.display(description="transactions")
    def entries(self, row: AccountSummary) -> SafeString:
        url = reverse("admin:projections_ledgerentry_changelist")
        return format_html('<a href="{}?account_id={}">its transactions</a>', url, row.id)

    @admin.display(description="events")
    def events(self, row: AccountSummary) -> SafeString:
        return events_link("ledger", row.id)

    @admin.action(description="Unfreeze the selected accounts")
    def unfreeze_selected(self, request: HttpRequest, queryset: QuerySet[AccountSummary]) -> None:
        """Through the Account aggregate: the row changes when the projector applies it."""
        ledger = get_container().ledger
        act_on_each(
            self, request, queryset, lambda row: ledger.unfreeze_account(row.id), done="unfrozen"
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "direction", "kind", "amount_", "balance", "transfer")
    list_filter = ("direction", "kind")
    search_fields = ("account_id", "transfer_id", "reference")
    date_hierarchy = "at"
    fields = (
        "at", "account", "direction", "kind", "amount_", "balance", "counterparty_", "transfer",
        "reference", "version",
    )  # fmt: skip
    readonly_fields = ("account", "amount_", "balance", "counterparty_", "transfer")

    account = id_column("account", "account_id", "account")
    counterparty_ = id_column("account", "counterparty", "counterparty")
    transfer = id_column("transfer", "transfer_id", "transfer")

    @admin.display(description="amount", ordering="amount")
    def amount_(self, row: LedgerEntry) -> str:
        return format_cents(row.amount)

    @admin.display(description="balance after", ordering="balance_after")
    def balance(self, row: LedgerEntry) -> str:
        return format_cents(row.balance_after)


@admin.register(TransferSummary)
class TransferSummaryAdmin(ReadOnlyAdmin):
    # The steps are on each transfer's page: in the list they would take four lines a row.
    list_display = (
        "started_at", "transfer", "source", "destination", "amount_", "status", "events",
    )  # fmt: skip
    list_filter = ("status", "currency", "failure_code")
    search_fields = ("id", "from_account", "to_account", "reference")
    date_hierarchy = "started_at"
    fields = (
        "id", "source", "destination", "amount_", "reference", "status", "step_list",
        "failure_code", "version", "started_at", "updated_at", "events",
    )  # fmt: skip
    readonly_fields = ("source", "destination", "amount_", "step_list", "events")
    actions = ["recover_selected"]

    source = id_column("account", "from_account", "from")
    destination = id_column("account", "to_account", "to")

    @admin.display(description="transfer", ordering="id")
    def transfer(self, row: TransferSummary) -> SafeString:
        return short_id(row.id)

    @admin.display(description="amount", ordering="amount")
    def amount_(self, row: TransferSummary) -> str:
        return money(row.amount, row.currency)

    @admin.display(description="steps")
    def step_list(self, row: TransferSummary) -> SafeString:
        return steps_html(row.steps)

    @admin.display(description="events")
    def events(self, row: TransferSummary) -> SafeString:
        return events_link("ledger", row.id)

    @admin.action(description="Recover now: finish or compensate the selected transfers")
    def recover_selected(self, request: HttpRequest, queryset: QuerySet[TransferSummary]) -> None:
        ledger = get_container().ledger
        for row in queryset:
            try:
                transfer = ledger.resume_transfer(row.id)
            except DomainError as exc:
                self.message_user(request, f"Transfer {row.id}: {exc}", messages.WARNING)
                continue
            self.message_user(request, f"Transfer {row.id}: {transfer.status}", messages.SUCCESS)


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadOnlyAdmin):
    list_display = ("order", "owner", "status", "total_", "paid_from", "created_at", "events")
    list_filter = ("status",)
    search_fields = ("id", "owner", "account")
    date_hierarchy = "created_at"
    fields = (
        "id", "owner", "paid_from", "status", "total_", "item_list", "sagas", "version",
        "created_at", "updated_at", "events",
    )  # fmt: skip
    readonly_fields = ("paid_from", "total_", "item_list", "sagas", "events")
    actions = ["recover_selected"]

    paid_from = id_column("account", "account", "account")

    @admin.display(description="order", ordering="id")
    def order(self, row: OrderSummary) -> SafeString:
        return short_id(row.id)

    @admin.display(description="total", ordering="total")
    def total_(self, row: OrderSummary) -> str:
        return money(row.total, row.currency)

    @admin.display(description="items")
    def item_list(self, row: OrderSummary) -> SafeString:
        lines = (
            (item["sku"], item["quantity"], money(item["price"], row.currency))
            for item in row.items
        )
        return format_html_join(mark_safe("<br>"), "{}: {} at {} each", lines)

    @admin.display(description="events")
    def events(self, row: OrderSummary) -> SafeString:
        return events_link("orders", row.id)

    @admin.display(description="sagas (from the event store)")
    def sagas(self, row: OrderSummary) -> SafeString:
        sagas = get_container().orders.order_sagas(row.id)
        return format_html_join(
            "",
            "<p><strong>{}</strong> {} ({})<br>{}</p>",
            (
                (type(s).__name__, s.status, events_link("orders", s.id), steps_html(s.history))
                for s in sagas
            ),
        )

    @admin.action(description="Recover now: finish or compensate the selected orders' sagas")
    def recover_selected(self, request: HttpRequest, queryset: QuerySet[OrderSummary]) -> None:
        orders = get_container().orders
        for row in queryset:
            try:
                sagas = orders.resume_order_sagas(row.id)
            except DomainError as exc:
                self.message_user(request, f"Order {row.id}: {exc}", messages.WARNING)
                continue
            outcome = ", ".join(f"{type(s).__name__} {s.status}" for s in sagas)
            self.message_user(request, f"Order {row.id}: {outcome}", messages.SUCCESS)


def steps_html(steps: Iterable[dict[str, Any]]) -> SafeString:
    """A saga's steps as they happened: ``name status``, one a line."""
    lines = format_html_join(mark_safe("<br>"), "{} {}", ((s["name"], s["status"]) for s in steps))
    return lines or format_html("{}", "—")


@admin.register(ProductStock)
class ProductStockAdmin(ReadOnlyAdmin):
    list_display = (
        "sku", "name", "money", "on_hand", "reserved", "available", "updated_at", "events",
    )  # fmt: skip
    search_fields = ("sku", "name")

    @admin.display(description="price", ordering="price")
    def money(self, row: ProductStock) -> str:
        return format_cents(row.price)  # a product has no currency of its own

    @admin.display(description="events")
    def events(self, row: ProductStock) -> SafeString:
        return events_link("orders", row.id)
