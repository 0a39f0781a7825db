"""Customer profiles in the admin: the ``profiles`` projection, its sealed fields opened by the
vault for staff, and "[erased]" where the customer was forgotten. Read-only, like every read
model; a forgetting goes through ``forget_customer`` (an action here, the API, or the command).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from config.container import get_container
from customers.domain import PERSONAL_FIELDS, Sealed
from customers.forgetting import forget_customer
from ops.admin_helpers import ERASED, ReadOnlyAdmin, act_on_each, events_link
from projections.models import ProfileSummary

NONE = "—"  # a field the customer left empty


def shown(row: ProfileSummary) -> dict[str, str]:
    """The row's personal fields as a page shows them: opened, ``[erased]`` or ``—``. Opened
    once per row and page (each column asks)."""
    cached: dict[str, str] | None = getattr(row, "_shown", None)
    if cached is None:
        if row.forgotten_at is not None:
            cached = dict.fromkeys(PERSONAL_FIELDS, ERASED)
        elif row.key_id is None:
            cached = dict.fromkeys(PERSONAL_FIELDS, NONE)
        else:
            sealed = Sealed(row.key_id, {name: getattr(row, name) for name in PERSONAL_FIELDS})
            opened = get_container().customers.opened(row.customer, sealed, erased=ERASED)
            cached = {name: NONE if value is None else value for name, value in opened.items()}
        row._shown = cached  # type: ignore[attr-defined]  # memo on the row the page holds
    return cached


def personal(field: str) -> Any:
    @admin.display(description=field.replace("_", " "))
    def column(model_admin: Any, row: ProfileSummary) -> str:
        return shown(row)[field]

    return column


@admin.register(ProfileSummary)
class ProfileSummaryAdmin(ReadOnlyAdmin):
    list_display = ("customer", "name", "mail", "forgotten_at", "updated_at", "events")
    list_filter = (("forgotten_at", admin.EmptyFieldListFilter),)
    search_fields = ("customer",)  # the personal fields are sealed: nothing to search in them
    fields = (
        "customer", "name", "mail", "postal_address", "telephone", "forgotten_at", "version",
        "created_at", "updated_at", "events",
    )  # fmt: skip
    readonly_fields = ("name", "mail", "postal_address", "telephone", "events")
    actions = ["forget_selected"]

    name = personal("full_name")
    mail = personal("email")
    postal_address = personal("address")
    telephone = personal("phone")

    @admin.display(description="events")
    def events(self, row: ProfileSummary) -> SafeString:
        return events_link("customers", row.id)

    @admin.action(description="Forget the selected customers (their personal data is erased)")
    def forget_selected(self, request: HttpRequest, queryset: QuerySet[ProfileSummary]) -> None:
        act_on_each(
            self,
            request,
            queryset,
            lambda row: forget_customer(row.customer),
            done="forgotten",
            name=lambda row: row.customer,
        )
