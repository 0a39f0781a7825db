"""The compliance endpoints, for staff only: the alert queue, and a reviewer's decision.

The list reads the ``alerts`` projection (eventually consistent; ``?min_position=`` waits for a
compliance log position); a decision goes through the Alert aggregate, and the ledger learns of
an escalation from the published ``compliance.alert.resolved`` — never from this view.
"""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.consistency import min_position_field, reads_projections, require_position
from api.pagination import PageParameters, paginated, query_filters
from api.schema import LIST, errors, page_of
from api.serializers import AmountField, InputSerializer, PositionField, TextField, render
from compliance.application import ComplianceApplication
from compliance.domain import AlertStatus, Decision
from compliance.rules import RULE_NAMES
from config.container import get_container
from projections.selectors import alert_list


def compliance() -> ComplianceApplication:
    return get_container().compliance


class AlertOutput(serializers.Serializer):
    id = serializers.UUIDField()
    transfer_id = serializers.UUIDField()
    account = serializers.UUIDField()
    amount = AmountField()
    rule = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    raised_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)


class AlertsApi(APIView):
    permission_classes = [IsAdminUser]

    class AlertFilters(serializers.Serializer):
        status = serializers.ChoiceField([s.value for s in AlertStatus], required=False)
        rule = serializers.ChoiceField(list(RULE_NAMES), required=False)
        account = serializers.UUIDField(required=False)
        transfer_id = serializers.UUIDField(required=False)
        min_position = min_position_field()

    @extend_schema(
        operation_id="list_alerts",
        parameters=[AlertFilters, PageParameters],
        responses={200: page_of(AlertOutput), **errors(*LIST, 403)},
        description="From the alerts projection, newest first (see min_position).",
    )
    @reads_projections
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.AlertFilters)
        require_position(filters.get("min_position"), "alerts", log=compliance())
        return paginated(request, self, alert_list(filters=filters), AlertOutput)


class ResolveAlertApi(APIView):
    permission_classes = [IsAdminUser]

    class ResolveInput(InputSerializer):
        decision = serializers.ChoiceField([d.value for d in Decision])
        note = TextField(required=False, allow_blank=True, max_length=2000)

    class ResolvedAlertOutput(AlertOutput):
        position = PositionField()

    @extend_schema(
        operation_id="resolve_alert",
        request=ResolveInput,
        responses={
            200: ResolvedAlertOutput,
            **errors(
                400,
                401,
                403,
                404,
                429,
                503,
                refusals={"invalid_state": "Alert was resolved already (escalated)."},
            ),
        },
        examples=[
            OpenApiExample(
                "escalate",
                {"decision": "escalated", "note": "source of funds unclear"},
                request_only=True,
            )
        ],
        description="Clear or escalate an open alert; escalated: the ledger freezes the account "
        "(asynchronously, from the published event). An alert is resolved once: 409 "
        "invalid_state after that.",
    )
    def post(self, request: Request, alert_id: UUID) -> Response:
        data = self.ResolveInput.validated(request.data)
        alert = compliance().resolve_alert(
            alert_id, data["decision"], request.user.get_username(), data.get("note", "")
        )
        body = render(self.ResolvedAlertOutput, alert)
        body["position"] = compliance().position_written()
        return Response(body)
