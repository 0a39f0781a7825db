"""Compliance in the admin: the alert queue with clear and escalate actions, and the history.

The alert list is the ``alerts`` projection, read-only like every read model; the actions go
through the Alert aggregate (``ComplianceApplication.resolve_alert``), and the list catches up
once the projector has applied the resulting events.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from compliance.domain import Decision
from compliance.models import ScreenedTransfer
from config.container import get_container
from kernel.money import format_cents
from ops.admin_helpers import ReadOnlyAdmin, act_on_each, events_link, id_column
from projections.models import AlertSummary


class ReviewForm(ActionForm):
    note = forms.CharField(required=False, max_length=2000, help_text="recorded with the decision")


@admin.register(AlertSummary)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "raised_at", "rule", "money", "source", "transfer", "status", "resolved_by", "events",
    )  # fmt: skip
    fields = (
        "id", "rule", "reason", "money", "source", "transfer", "status", "raised_at",
        "resolved_at", "resolved_by", "note", "version", "events",
    )  # fmt: skip
    readonly_fields = ("money", "source", "transfer", "events")
    list_filter = ("status", "rule")
    search_fields = ("id", "account", "transfer_id")
    date_hierarchy = "raised_at"
    action_form = ReviewForm
    actions = ["clear_selected", "escalate_selected"]

    source = id_column("account", "account", "account")
    transfer = id_column("transfer", "transfer_id", "transfer")

    @admin.display(description="amount", ordering="amount")
    def money(self, row: AlertSummary) -> str:
        return format_cents(row.amount)

    @admin.display(description="events")
    def events(self, row: AlertSummary) -> SafeString:
        return events_link("compliance", row.id)

    @admin.action(description="Clear the selected alerts (nothing suspicious)")
    def clear_selected(self, request: HttpRequest, queryset: QuerySet[AlertSummary]) -> None:
        self.resolve(request, queryset, Decision.CLEARED)

    @admin.action(description="Escalate the selected alerts (the ledger freezes the accounts)")
    def escalate_selected(self, request: HttpRequest, queryset: QuerySet[AlertSummary]) -> None:
        self.resolve(request, queryset, Decision.ESCALATED)

    def resolve(
        self, request: HttpRequest, queryset: QuerySet[AlertSummary], decision: Decision
    ) -> None:
        compliance = get_container().compliance
        note, by = request.POST.get("note", ""), request.user.get_username()
        act_on_each(
            self,
            request,
            queryset,
            lambda row: compliance.resolve_alert(row.id, decision, by, note),
            done=decision,
        )


@admin.register(ScreenedTransfer)
class ScreenedTransferAdmin(ReadOnlyAdmin):
    list_display = ("at", "source", "money", "transfer")
    search_fields = ("account", "transfer_id")
    date_hierarchy = "at"
    fields = ("at", "source", "money", "transfer")
    readonly_fields = ("source", "money", "transfer")

    source = id_column("account", "account", "account")
    transfer = id_column("transfer", "transfer_id", "transfer")

    @admin.display(description="amount", ordering="amount")
    def money(self, row: ScreenedTransfer) -> str:
        return format_cents(row.amount)
