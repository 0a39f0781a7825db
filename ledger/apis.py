"""The ledger's REST endpoints: parse, call the application, render. Nothing else happens here.

Reads of one account or transfer come from its aggregate (consistent); lists come from the
projections. A customer sees and moves only its own accounts: anyone else's is a 404, so an
id reveals nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.consistency import min_position_field, reads_projections, require_position
from api.errors import ApiError
from api.history import event_page
from api.idempotency import run_idempotently
from api.pagination import PageParameters, paginated, query_filters
from api.permissions import may_see
from api.schema import (
    EVENT,
    IDEMPOTENCY_KEY,
    LIST,
    READ,
    WRITE,
    errors,
    page_of,
)
from api.serializers import (
    AmountField,
    BoundedListField,
    InputSerializer,
    PositionField,
    TextField,
    render,
)
from api.users import user_exists
from config.container import get_container
from ledger.api_examples import (
    MOVEMENT_EXAMPLES,
    OPEN_ACCOUNT_EXAMPLES,
    TRANSFER_BATCH_EXAMPLES,
    TRANSFER_EXAMPLES,
)
from ledger.application import LedgerApplication, TransferInstruction
from ledger.domain import Account, AccountNotFound, TransferNotFound
from ledger.saga import Transfer, TransferBatch
from projections.selectors import (
    ACCOUNT_ORDERINGS,
    TRANSFER_ORDERINGS,
    account_list,
    entry_list,
    transfer_list,
)
from sagas.engine import SagaStatus


def ledger() -> LedgerApplication:
    return get_container().ledger


def owned_account(request: Request, account_id: UUID) -> Account:
    """The account, if this user may see it; otherwise "not found", as if it did not exist."""
    account = ledger().get_account(account_id)
    if not may_see(request, account.owner):
        raise AccountNotFound(f"Account {account_id} not found.")
    return account


def require_owner(request: Request, account_id: UUID) -> str:
    """As ``owned_account``, when only the right to it matters: the account's owner, without
    reading the account itself."""
    owner = ledger().owner_of(account_id)
    if not may_see(request, owner):
        raise AccountNotFound(f"Account {account_id} not found.")
    return owner


class AccountOutput(serializers.Serializer):
    id = serializers.UUIDField()
    owner = serializers.CharField()
    currency = serializers.CharField()
    balance = AmountField(help_text="posted")
    available = AmountField(help_text="what it can spend: posted, less what holds set aside")
    held = AmountField(help_text="set aside by pending holds on it")
    status = serializers.CharField()
    version = serializers.IntegerField()


def account_body(account: Account, position: int | None = None) -> dict[str, Any]:
    body = render(AccountOutput, account)
    if position is not None:
        body["position"] = position
    return body


class AccountsApi(APIView):
    class AccountFilters(serializers.Serializer):
        status = serializers.ChoiceField(["open", "frozen", "closed"], required=False)
        currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
        owner = TextField(required=False, max_length=150, help_text="Staff only.")
        ordering = serializers.ChoiceField(sorted(ACCOUNT_ORDERINGS), required=False)
        min_position = min_position_field()

    class AccountListOutput(AccountOutput):
        updated_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="list_accounts",
        parameters=[AccountFilters, PageParameters],
        responses={200: page_of(AccountListOutput), **errors(*LIST)},
        description="From the accounts projection (eventually consistent; see min_position).",
    )
    @reads_projections
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.AccountFilters)
        require_position(filters.get("min_position"), "accounts", log=ledger())
        accounts = account_list(user=request.user, filters=filters)
        return paginated(request, self, accounts, self.AccountListOutput)

    class OpenAccountInput(InputSerializer):
        currency = serializers.RegexField(
            r"^[A-Z]{3}$", required=False, help_text="ISO 4217 code; EUR when omitted."
        )
        owner = TextField(
            required=False, max_length=150, help_text="Staff only: the customer's username."
        )

    class OpenedAccountOutput(AccountOutput):
        position = PositionField()

    @extend_schema(
        operation_id="open_account",
        request=OpenAccountInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OpenedAccountOutput, **errors(400, 401, 403, 404, 422, 429, 503)},
        examples=OPEN_ACCOUNT_EXAMPLES,
        description="Open an account for yourself (staff: for any customer, with `owner`).",
    )
    def post(self, request: Request) -> Response:
        data = self.OpenAccountInput.validated(request.data)
        owner = data.get("owner", request.user.get_username())
        if owner != request.user.get_username():
            if not request.user.is_staff:
                raise ApiError(403, "permission_denied", "Only staff may open accounts for others.")
            if not user_exists(owner, active=True):
                # Not found, as any other thing a body names that does not exist; a retired
                # user (a forgotten customer) gets no account, whose money would escape the
                # forgetting's policy.
                raise ApiError(404, "not_found", f"No user named {owner}.", {"owner": owner})
        currency = data.get("currency", settings.DEFAULT_CURRENCY)

        def open_account(operation_id: UUID) -> Response:
            account = ledger().open_account(owner, currency, account_id=operation_id)
            return Response(account_body(account, ledger().position_written()), status=201)

        return run_idempotently(request, open_account)


class AccountDetailApi(APIView):
    @extend_schema(
        operation_id="get_account",
        responses={200: AccountOutput, **errors(*READ)},
        description="Read from the aggregate: consistent with every write that answered.",
    )
    def get(self, request: Request, account_id: UUID) -> Response:
        return Response(account_body(owned_account(request, account_id)))


class MovementOutput(serializers.Serializer):
    account = serializers.UUIDField()
    amount = AmountField()
    balance = AmountField()
    reference = serializers.CharField()
    position = PositionField()


class _MovementApi(APIView, ABC):
    """A deposit or a withdrawal: one amount, applied once per operation id."""

    class MovementInput(InputSerializer):
        amount = AmountField()

    @abstractmethod
    def move(self, account_id: UUID, amount: int, reference: str) -> Account:
        """The ledger command this endpoint performs."""

    def post(self, request: Request, account_id: UUID) -> Response:
        data = self.MovementInput.validated(request.data)
        account = owned_account(request, account_id)

        def apply(operation_id: UUID) -> Response:
            reference = str(operation_id)
            moved = self.move(account.id, data["amount"], reference)
            body = {
                "account": moved.id,
                "amount": data["amount"],
                "balance": moved.balance,
                "reference": reference,
                "position": ledger().position_written(),
            }
            return Response(render(MovementOutput, body), status=201)

        return run_idempotently(request, apply)


def _movement_schema(operation_id: str, *statuses: int, **refusals: str) -> Any:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            request=_MovementApi.MovementInput,
            parameters=[IDEMPOTENCY_KEY],
            responses={201: MovementOutput, **errors(*WRITE, *statuses, refusals=refusals)},
            examples=MOVEMENT_EXAMPLES,
        )
    )


@_movement_schema(
    "deposit",
    403,
    account_frozen="Account 6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2 is frozen.",
    account_closed="Account 6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2 is closed.",
)
class DepositApi(_MovementApi):
    permission_classes = [IsAdminUser]

    def move(self, account_id: UUID, amount: int, reference: str) -> Account:
        return ledger().deposit(account_id, amount, reference)


@_movement_schema(
    "withdraw",
    insufficient_funds="Account 6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2 cannot pay this amount.",
    account_frozen="Account 6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2 is frozen.",
    account_closed="Account 6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2 is closed.",
)
class WithdrawalApi(_MovementApi):
    def move(self, account_id: UUID, amount: int, reference: str) -> Account:
        return ledger().withdraw(account_id, amount, reference)


class AccountTransactionsApi(APIView):
    class EntryFilters(serializers.Serializer):
        kind = serializers.ChoiceField(
            ["deposit", "withdrawal", "transfer", "refund", "hold"], required=False
        )
        phase = serializers.ChoiceField(
            ["posted", "pending", "released"],
            required=False,
            help_text="posted money; or money a hold set aside (pending) and set free (released)",
        )
        since = serializers.DateTimeField(required=False, help_text="from this time (inclusive)")
        until = serializers.DateTimeField(required=False, help_text="before this time")
        min_position = min_position_field()

    class EntryOutput(serializers.Serializer):
        at = serializers.DateTimeField()
        direction = serializers.CharField()
        kind = serializers.CharField()
        phase = serializers.CharField()
        amount = AmountField()
        balance_after = AmountField()
        counterparty = serializers.UUIDField(allow_null=True)
        transfer_id = serializers.UUIDField(allow_null=True)
        reference = serializers.CharField()
        version = serializers.IntegerField()

    @extend_schema(
        operation_id="account_transactions",
        parameters=[EntryFilters, PageParameters],
        responses={200: page_of(EntryOutput), **errors(*LIST)},
        description="From the transactions projection, newest first (see min_position).",
    )
    @reads_projections
    def get(self, request: Request, account_id: UUID) -> Response:
        filters = query_filters(request, self.EntryFilters)
        account = owned_account(request, account_id)
        require_position(filters.get("min_position"), "transactions", log=ledger())
        entries = entry_list(account_id=account.id, filters=filters)
        return paginated(request, self, entries, self.EntryOutput)


class AccountEventsApi(APIView):
    @extend_schema(
        operation_id="account_events",
        parameters=[PageParameters],
        responses={200: page_of(EVENT.__class__), **errors(*LIST)},
        description="The account's stored events, oldest first, in their published form, each "
        "with its position in the ledger's log; a page at a time.",
    )
    def get(self, request: Request, account_id: UUID) -> Response:
        account = owned_account(request, account_id)
        return event_page(request, self, ledger(), account)


class FreezeAccountApi(APIView):
    permission_classes = [IsAdminUser]

    class FreezeInput(InputSerializer):
        reason = TextField(max_length=500)

    @extend_schema(
        operation_id="freeze_account",
        request=FreezeInput,
        responses={
            200: AccountOutput,
            **errors(
                400, 401, 403, 404, 429, 503, refusals={"account_closed": "Account is closed."}
            ),
        },
    )
    def post(self, request: Request, account_id: UUID) -> Response:
        data = self.FreezeInput.validated(request.data)
        require_owner(request, account_id)
        account = ledger().freeze_account(account_id, data["reason"])
        return Response(account_body(account, ledger().position_written()))


class UnfreezeAccountApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="unfreeze_account",
        request=None,
        responses={
            200: AccountOutput,
            **errors(401, 403, 404, 429, 503, refusals={"invalid_state": "Account is not frozen."}),
        },
    )
    def post(self, request: Request, account_id: UUID) -> Response:
        require_owner(request, account_id)
        account = ledger().unfreeze_account(account_id)
        return Response(account_body(account, ledger().position_written()))


class CloseAccountApi(APIView):
    @extend_schema(
        operation_id="close_account",
        request=None,
        responses={
            200: AccountOutput,
            **errors(*READ, 429, refusals={"invalid_state": "Account still holds money."}),
        },
    )
    def post(self, request: Request, account_id: UUID) -> Response:
        require_owner(request, account_id)
        account = ledger().close_account(account_id)
        return Response(account_body(account, ledger().position_written()))


# --- Transfers -------------------------------------------------------------------------------


class StepOutput(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField()
    at = serializers.DateTimeField()


class TransferOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    from_account = serializers.UUIDField()
    to_account = serializers.UUIDField()
    amount = AmountField()
    currency = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    steps = StepOutput(many=True, source="history")
    failure_code = serializers.CharField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField(source="created_on")
    updated_at = serializers.DateTimeField(source="modified_on")


def visible_transfer(request: Request, transfer_id: UUID) -> Transfer:
    """Staff see every transfer; a customer sees those to or from its own accounts."""
    transfer = ledger().get_transfer(transfer_id)
    if request.user.is_staff:
        return transfer
    username = request.user.get_username()
    for account_id in (transfer.from_account, transfer.to_account):
        try:
            if ledger().owner_of(account_id) == username:
                return transfer
        except AccountNotFound:
            continue
    raise TransferNotFound(f"Transfer {transfer_id} not found.")


class TransfersApi(APIView):
    class TransferFilters(serializers.Serializer):
        status = serializers.ChoiceField(
            ["running", "compensating", "completed", "compensated", "failed"], required=False
        )
        account = serializers.UUIDField(required=False, help_text="to or from this account")
        since = serializers.DateTimeField(required=False, help_text="started at or after")
        until = serializers.DateTimeField(required=False, help_text="started before")
        ordering = serializers.ChoiceField(sorted(TRANSFER_ORDERINGS), required=False)
        min_position = min_position_field()

    class TransferListOutput(TransferOutput):
        steps = StepOutput(many=True)
        created_at = serializers.DateTimeField(source="started_at")
        updated_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="list_transfers",
        parameters=[TransferFilters, PageParameters],
        responses={200: page_of(TransferListOutput), **errors(*LIST)},
        description="From the transfers projection, newest first (see min_position). A "
        "customer sees the transfers to or from its own accounts.",
    )
    @reads_projections
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.TransferFilters)
        require_position(filters.get("min_position"), "transfers", log=ledger())
        transfers = transfer_list(user=request.user, filters=filters)
        return paginated(request, self, transfers, self.TransferListOutput)

    class TransferInput(InputSerializer):
        from_account = serializers.UUIDField()
        to_account = serializers.UUIDField()
        amount = AmountField()
        reference = TextField(required=False, allow_blank=True, max_length=140)

    class TransferCreatedOutput(TransferOutput):
        position = PositionField()

    @extend_schema(
        operation_id="transfer_funds",
        request=TransferInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TransferCreatedOutput,
            **errors(
                *WRITE,
                refusals={
                    "insufficient_funds": "Account cannot pay this amount.",
                    "account_frozen": "Account is frozen.",
                    "account_closed": "Account is closed.",
                    "currency_mismatch": "Account holds USD, not EUR.",
                    "same_account": "A transfer needs two different accounts.",
                },
            ),
        },
        examples=TRANSFER_EXAMPLES,
        description="Runs the TransferFunds saga and answers with its final state: 201 when "
        "completed; 409 with the refusing step's code (and the transfer id in details) when "
        "it ended failed or compensated.",
    )
    def post(self, request: Request) -> Response:
        return transfer_funds(request, self.TransferInput.validated(request.data))


def transfer_funds(
    request: Request, data: dict[str, Any], *, fingerprint: str | None = None
) -> Response:
    """A validated transfer, for REST and GraphQL alike: from the user's own account only, run
    at most once per Idempotency-Key; 201 with the transfer, or 409 with the refusing code."""
    require_owner(request, data["from_account"])  # you move only your own money

    def transfer(operation_id: UUID) -> Response:
        transfer = ledger().transfer_funds(
            data["from_account"],
            data["to_account"],
            data["amount"],
            transfer_id=operation_id,
            reference=data.get("reference", ""),
        )
        if transfer.status != SagaStatus.COMPLETED:
            raise ApiError(
                409,
                transfer.failure_code or "transfer_failed",
                transfer.failure_reason or "The transfer did not complete.",
                {"transfer_id": str(transfer.id), "status": str(transfer.status)},
            )
        body = render(TransfersApi.TransferCreatedOutput, transfer)
        body["position"] = ledger().position_written()
        return Response(body, status=status.HTTP_201_CREATED)

    return run_idempotently(request, transfer, fingerprint=fingerprint)


class TransferDetailApi(APIView):
    @extend_schema(operation_id="get_transfer", responses={200: TransferOutput, **errors(*READ)})
    def get(self, request: Request, transfer_id: UUID) -> Response:
        return Response(render(TransferOutput, visible_transfer(request, transfer_id)))


# --- Batches of transfers --------------------------------------------------------------------

MAX_BATCH = 1000


class BatchedTransferOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    code = serializers.CharField(
        required=False, help_text="The refusing step's code, when the transfer did not complete."
    )


class TransferBatchOutput(serializers.Serializer):
    id = serializers.UUIDField()
    linked = serializers.BooleanField()
    transfers = BatchedTransferOutput(many=True, help_text="One per transfer, in the order sent.")


def batch_body(batch: TransferBatch, transfers: list[Transfer]) -> dict[str, Any]:
    return {
        "id": str(batch.id),
        "linked": batch.linked,
        "transfers": [
            {"id": str(t.id), "status": str(t.status)}
            | ({"code": t.failure_code} if t.failure_code else {})
            for t in transfers
        ],
    }


class TransferBatchesApi(APIView):
    class TransferBatchInput(InputSerializer):
        transfers = BoundedListField(
            child=TransfersApi.TransferInput(), min_length=1, max_length=MAX_BATCH
        )
        linked = serializers.BooleanField(
            required=False,
            default=False,
            help_text="All or nothing: if any transfer is refused, none moves money.",
        )

        def validate_transfers(self, transfers: list[dict[str, Any]]) -> list[dict[str, Any]]:
            first_with: dict[str, int] = {}
            for index, transfer in enumerate(transfers):
                reference = transfer.get("reference", "")
                if reference and first_with.setdefault(reference, index) != index:
                    raise serializers.ValidationError(
                        f"Transfers {first_with[reference]} and {index} have one reference: a "
                        "reference names one transfer."
                    )
            return transfers

    class TransferBatchCreatedOutput(TransferBatchOutput):
        position = PositionField()

    @extend_schema(
        operation_id="transfer_batch",
        request=TransferBatchInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TransferBatchCreatedOutput,
            **errors(
                *WRITE,
                refusals={"same_account": "A transfer needs two different accounts."},
            ),
        },
        examples=TRANSFER_BATCH_EXAMPLES,
        description=f"Up to {MAX_BATCH:,} transfers run together, their sagas in lockstep (a "
        "commit per step for the whole batch). Every transfer is checked first as a single "
        "transfer is (from your own account; accounts that exist; two different accounts): one "
        "that fails the check refuses the batch, and nothing moves. Then each ends on its own, "
        "`completed`, `failed` or `compensated` with the refusing code, and a refusal does not "
        "refuse its neighbours, unless `linked`: then all complete, or none moves money (the "
        "others fail with `linked_event_failed`). One Idempotency-Key covers the batch.",
    )
    def post(self, request: Request) -> Response:
        data = self.TransferBatchInput.validated(request.data)
        for transfer in data["transfers"]:
            require_owner(request, transfer["from_account"])  # you move only your own money
        instructions = [
            TransferInstruction(
                t["from_account"], t["to_account"], t["amount"], t.get("reference", "")
            )
            for t in data["transfers"]
        ]

        def transfer_batch(operation_id: UUID) -> Response:
            batch, transfers = ledger().transfer_batch(
                instructions,
                batch_id=operation_id,
                linked=data["linked"],
                submitted_by=request.user.get_username(),
            )
            body = batch_body(batch, transfers)
            body["position"] = ledger().position_written()
            return Response(body, status=status.HTTP_201_CREATED)

        return run_idempotently(request, transfer_batch)


class TransferBatchDetailApi(APIView):
    @extend_schema(
        operation_id="get_transfer_batch",
        responses={200: TransferBatchOutput, **errors(*READ)},
        description="The batch and each transfer's state now, read from the aggregates. Staff "
        "see every batch; a customer sees the batches it submitted.",
    )
    def get(self, request: Request, batch_id: UUID) -> Response:
        batch, transfers = ledger().get_transfer_batch(batch_id)
        if not may_see(request, batch.submitted_by):
            raise TransferNotFound(f"Transfer batch {batch_id} not found.")
        return Response(batch_body(batch, transfers))
