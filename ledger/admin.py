"""The ledger's one Django table in the admin: the compliance escalations it has acted on."""

from __future__ import annotations

from django.contrib import admin

from ledger.models import AppliedEscalation
from ops.admin_helpers import ReadOnlyAdmin


@admin.register(AppliedEscalation)
class AppliedEscalationAdmin(ReadOnlyAdmin):
    list_display = ("applied_at", "account", "alert_id", "outcome")
    list_filter = ("outcome",)
    search_fields = ("account", "alert_id")
