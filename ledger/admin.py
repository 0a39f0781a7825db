"""The ledger's Django tables in the admin: what its subscribers have acted on (compliance
escalations, forgotten customers), read-only."""

from __future__ import annotations

from django.contrib import admin

from ledger.models import AppliedEscalation, RetiredCustomer
from ops.admin_helpers import ReadOnlyAdmin


@admin.register(AppliedEscalation)
class AppliedEscalationAdmin(ReadOnlyAdmin):
    list_display = ("applied_at", "account", "alert_id", "outcome")
    list_filter = ("outcome",)
    search_fields = ("account", "alert_id")


@admin.register(RetiredCustomer)
class RetiredCustomerAdmin(ReadOnlyAdmin):
    list_display = ("applied_at", "customer", "closed", "frozen")
    search_fields = ("customer",)
