"""Compliance in GraphQL: the alert queue, for staff only (a customer's query is ``null`` with
``permission_denied``, as the REST list is a 403). It reads what ``GET /api/compliance/alerts/``
reads, with the same filters, rendered by the same serializer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
import strawberry_django
from strawberry.types import Info

from api.consistency import require_position
from api.graphql_fields import PAGE_SIZE, Page, Position, page_of, staff_only, validated
from compliance.apis import AlertOutput, AlertsApi, compliance
from projections.selectors import alert_list


@strawberry.type(description="A compliance alert raised on a completed transfer.")
class Alert:
    id: UUID
    transfer_id: UUID
    account: UUID
    amount: str
    rule: str
    reason: str
    status: str
    raised_at: datetime
    resolved_at: datetime | None
    resolved_by: str
    note: str


@strawberry.type
class Query:
    @strawberry_django.field(
        description="Staff only: compliance alerts, newest first, from the alerts projection."
    )
    def alerts(
        self,
        info: Info,
        status: str | None = None,
        rule: str | None = None,
        account: UUID | None = None,
        transfer_id: UUID | None = None,
        min_position: Position | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> Page[Alert] | None:
        staff_only(info)
        filters = validated(
            AlertsApi.AlertFilters,
            status=status,
            rule=rule,
            account=account,
            transfer_id=transfer_id,
            min_position=min_position,
        )
        require_position(filters.get("min_position"), "alerts", log=compliance())
        return page_of(Alert, alert_list(filters=filters), AlertOutput, offset=offset, limit=limit)
