"""Operators' view of the messaging side: parked messages (with a retry action) and positions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from messaging.dead_letters import retry
from messaging.models import DeadLetter, RelayPosition, SubscriberPosition
from ops.admin_helpers import ReadOnlyAdmin


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "subscriber",
        "stream_sequence",
        "subject",
        "attempts",
        "last_seen",
        "resolved_at",
    )
    list_filter = ("subscriber", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "error", "payload")
    actions = ["retry_selected"]

    @admin.action(description="Retry the selected dead letters")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        outcomes = retry(queryset.filter(resolved_at__isnull=True))
        resolved = sum(o.resolved for o in outcomes)
        self.message_user(request, f"{resolved} of {len(outcomes)} resolved.", messages.SUCCESS)
        for outcome in outcomes:
            if not outcome.resolved:
                self.message_user(
                    request, f"#{outcome.dead_letter}: {outcome.error}", messages.WARNING
                )


@admin.register(RelayPosition)
class RelayPositionAdmin(ReadOnlyAdmin):
    list_display = ("source", "position", "updated_at")


@admin.register(SubscriberPosition)
class SubscriberPositionAdmin(ReadOnlyAdmin):
    list_display = ("name", "stream_sequence", "source_positions", "updated_at")
