"""What the contexts' admin pages share: money as a person reads it, ids that link to what they
name, a link to an aggregate's events, the base for tables that only the system writes, and
actions that go through an application one selected row at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from kernel.errors import DomainError
from kernel.money import format_cents

# Personal data whose key was destroyed (the customer was forgotten), as a page shows it.
ERASED = "[erased]"

# The admin page of each kind of thing an id can name (the projections' rows).
PAGES = {
    "account": "admin:projections_accountsummary_change",
    "transfer": "admin:projections_transfersummary_change",
    "order": "admin:projections_ordersummary_change",
}


def money(cents: int, currency: str = "") -> str:
    """``2500, "EUR"`` as ``25.00 EUR``: how a person reads an amount (on one line: the space
    does not break)."""
    return f"{format_cents(cents)}\u00a0{currency}" if currency else format_cents(cents)


def id_link(kind: str, value: UUID | None) -> SafeString:
    """An id, shortened to its first eight characters (whole on hover, and in the link), that
    opens the page of the ``kind`` of thing it names: so lists of ids stay one line wide."""
    if value is None:
        return format_html("{}", "—")
    url = reverse(PAGES[kind], args=[value])
    return format_html('<a href="{}" title="{}">{}</a>', url, value, str(value)[:8])


def id_column(kind: str, field: str, description: str) -> Callable[[Any, Any], SafeString]:
    """An admin column showing the id in ``field`` as ``id_link`` does, sorted by it."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, row: Any) -> SafeString:
        return id_link(kind, getattr(row, field))

    return column


def short_id(value: UUID) -> SafeString:
    """An id shortened as ``id_link`` shows it, for the column that already links to its row."""
    return format_html('<span title="{}">{}</span>', value, str(value)[:8])


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


def act_on_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: Iterable[Any],
    act: Callable[[Any], object],
    *,
    done: str,
    name: Callable[[Any], object] = lambda row: row.id,
) -> None:
    """An action on each selected row of a read model, through its application: a row the
    domain refuses is said (named by ``name``) and the others go on; then how many were
    ``done``, which the list shows only once its projector has applied the events."""
    rows, succeeded = list(rows), 0
    for row in rows:
        try:
            act(row)
            succeeded += 1
        except DomainError as exc:
            model_admin.message_user(request, f"{name(row)}: {exc}", messages.WARNING)
    model_admin.message_user(
        request,
        f"{succeeded} of {len(rows)} {done}; the list shows it once the projection has caught up.",
        messages.SUCCESS,
    )
