"""What the contexts' admin pages share: a link to an aggregate's events, and the base for tables
that only the system writes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString


def events_link(context: str, aggregate_id: UUID, label: str = "events") -> SafeString:
    """A link to the event browser showing one aggregate's stored events."""
    query = urlencode({"context": context, "aggregate": str(aggregate_id)})
    return format_html('<a href="{}?{}">{}</a>', reverse("admin:event_browser"), query, label)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For tables written only by the system (projectors, the relay, subscribers): browse and
    search, never add, change or delete — a fix goes through the aggregates, or a rebuild."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
