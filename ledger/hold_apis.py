"""The ledger's holds over REST: place one, read it, capture it, void it.

Who may do what, as a card payment would have it: the payer places a hold on its own account
(as it sends a transfer from its own account); the payee — the owner of the account the hold is
for — captures or voids it; either of them, and staff, may read it, and staff may do all. To
anyone else a hold does not exist (404), as an account or a transfer does not.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.idempotency import run_idempotently
from api.permissions import may_see
from api.schema import IDEMPOTENCY_KEY, READ, WRITE, errors
from api.serializers import (
    AmountField,
    InputSerializer,
    PositionField,
    TextField,
    WholeNumberField,
    render,
)
from ledger.api_examples import HOLD_EXAMPLES
from ledger.apis import ledger, require_owner
from ledger.domain import AccountNotFound, HoldNotFound
from ledger.holds import Hold, HoldStatus

# How long a hold may be asked to last, in seconds: a minute to ninety days.
SHORTEST_HOLD, LONGEST_HOLD = 60, 90 * 24 * 60 * 60


class HoldOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text="pending, captured, voided or expired")
    from_account = serializers.UUIDField()
    to_account = serializers.UUIDField()
    amount = AmountField(help_text="what was held")
    captured = AmountField(
        allow_null=True, help_text="what a capture posted (the rest was released); else null"
    )
    currency = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField(source="created_on")
    updated_at = serializers.DateTimeField(source="modified_on")


class HoldAnswerOutput(HoldOutput):
    position = PositionField()


def hold_body(hold: Hold, *, written: bool = True) -> dict[str, Any]:
    body = render(HoldOutput, hold)
    if hold.status != HoldStatus.CAPTURED:
        body["captured"] = None
    if written:
        body["position"] = ledger().position_written()
    return body


def _owners(hold: Hold) -> tuple[str | None, str | None]:
    """The payer's and the payee's usernames (None for an account that is gone)."""
    owners: list[str | None] = []
    for account_id in (hold.from_account, hold.to_account):
        try:
            owners.append(ledger().owner_of(account_id))
        except AccountNotFound:
            owners.append(None)
    return owners[0], owners[1]


def visible_hold(request: Request, hold_id: UUID) -> Hold:
    """The hold, if this user is its payer, its payee or staff; otherwise not found."""
    hold = ledger().get_hold(hold_id)
    if not any(owner is not None and may_see(request, owner) for owner in _owners(hold)):
        raise HoldNotFound(f"Hold {hold_id} not found.")
    return hold


def payees_hold(request: Request, hold_id: UUID) -> Hold:
    """The hold, if this user may settle it: its payee, or staff. Its payer may read it, not
    settle it (403); anyone else does not see it (404)."""
    hold = visible_hold(request, hold_id)
    _, payee = _owners(hold)
    if payee is None or not may_see(request, payee):
        raise ApiError(403, "permission_denied", "Only the payee (or staff) settles a hold.")
    return hold


REFUSED_HOLD = {
    "insufficient_funds": "Account cannot pay this amount.",
    "account_frozen": "Account is frozen.",
    "account_closed": "Account is closed.",
    "currency_mismatch": "Account holds USD, not EUR.",
    "same_account": "Money moves between two different accounts.",
}
RESOLVED = {"invalid_state": "Hold 2c8f... is voided; cannot capture it."}


class HoldsApi(APIView):
    class HoldInput(InputSerializer):
        from_account = serializers.UUIDField(help_text="Yours (staff: any).")
        to_account = serializers.UUIDField()
        amount = AmountField()
        expires_in = WholeNumberField(
            required=False,
            min_value=SHORTEST_HOLD,
            max_value=LONGEST_HOLD,
            help_text="Seconds until the hold expires unsettled; a week when omitted.",
        )
        reference = TextField(required=False, allow_blank=True, max_length=140)

    @extend_schema(
        operation_id="place_hold",
        request=HoldInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: HoldAnswerOutput, **errors(*WRITE, refusals=REFUSED_HOLD)},
        examples=HOLD_EXAMPLES,
        description="Set money aside on your account for another: it stays yours (balance) but "
        "cannot be spent (available), until the payee captures it — all or part — or voids "
        "it, or it expires. Refused, with the code a transfer would have, when the account "
        "cannot pay it from what is available.",
    )
    def post(self, request: Request) -> Response:
        data = self.HoldInput.validated(request.data)
        require_owner(request, data["from_account"])  # you set aside only your own money

        def place(operation_id: UUID) -> Response:
            hold = ledger().place_hold(
                data["from_account"],
                data["to_account"],
                data["amount"],
                expires_in=data.get("expires_in"),
                reference=data.get("reference", ""),
                hold_id=operation_id,
            )
            return Response(hold_body(hold), status=201)

        return run_idempotently(request, place)


class HoldDetailApi(APIView):
    @extend_schema(
        operation_id="get_hold",
        responses={200: HoldOutput, **errors(*READ)},
        description="Read from the hold (consistent); its payer, its payee and staff see it.",
    )
    def get(self, request: Request, hold_id: UUID) -> Response:
        return Response(hold_body(visible_hold(request, hold_id), written=False))


class CaptureHoldApi(APIView):
    class CaptureInput(InputSerializer):
        amount = AmountField(
            required=False, help_text="Up to what is held; all of it when omitted."
        )

    @extend_schema(
        operation_id="capture_hold",
        request=CaptureInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: HoldAnswerOutput, **errors(*WRITE, 403, refusals=RESOLVED)},
        description="Post the hold (or part of it; the rest goes back to the payer). Capturing "
        "a captured hold answers as the first capture did; a voided or expired one is "
        "invalid_state. The payee (or staff) captures.",
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        data = self.CaptureInput.validated(request.data)
        payees_hold(request, hold_id)

        def capture(_: UUID) -> Response:
            return Response(hold_body(ledger().capture_hold(hold_id, data.get("amount"))))

        return run_idempotently(request, capture)


class VoidHoldApi(APIView):
    @extend_schema(
        operation_id="void_hold",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: HoldAnswerOutput, **errors(*WRITE, 403, refusals=RESOLVED)},
        description="Release the hold: nothing moves. Voiding a voided hold answers as the "
        "first void did; a captured or expired one is invalid_state. The payee (or staff) "
        "voids.",
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        payees_hold(request, hold_id)

        def void(_: UUID) -> Response:
            return Response(hold_body(ledger().void_hold(hold_id)))

        return run_idempotently(request, void)
