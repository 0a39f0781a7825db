"""The ledger in GraphQL: accounts, their transactions, transfers with their steps, and the
``transferFunds`` mutation. Each resolver does what the REST view of the same name does — the
same reads, permissions, validation and use case, rendered by the same serializers — so
another customer's account or transfer is ``null`` with ``not_found``, as it is a 404 there."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
import strawberry_django
from strawberry.types import Info

from api.consistency import require_position
from api.graphql_fields import (
    PAGE_SIZE,
    Page,
    Position,
    answered,
    api_request,
    from_body,
    mutation_fingerprint,
    page_of,
    validated,
    writing,
)
from api.serializers import render
from ledger.apis import (
    AccountsApi,
    AccountTransactionsApi,
    TransferOutput,
    TransfersApi,
    account_body,
    ledger,
    owned_account,
    transfer_funds,
    visible_transfer,
)
from projections.selectors import account_list, entry_list, transfer_list


@strawberry.type(description='A ledger account. Amounts are decimal strings ("12.50").')
class Account:
    id: UUID
    owner: str
    currency: str
    balance: str
    status: str
    version: int


@strawberry.type(description="A credit or a debit of one account (the transactions projection).")
class Transaction:
    at: datetime
    direction: str
    kind: str
    amount: str
    balance_after: str
    counterparty: UUID | None
    transfer_id: UUID | None
    reference: str
    version: int


@strawberry.type(description="One step of a transfer's saga.")
class Step:
    name: str
    status: str
    at: datetime


@strawberry.type(description="A fund transfer, run as the TransferFunds saga.")
class Transfer:
    id: UUID
    status: str
    from_account: UUID
    to_account: UUID
    amount: str
    currency: str
    reference: str
    steps: list[Step]
    failure_code: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


@strawberry.type
class Query:
    @strawberry_django.field(
        description="Your accounts (staff: everyone's), from the accounts projection."
    )
    def accounts(
        self,
        info: Info,
        status: str | None = None,
        currency: str | None = None,
        owner: str | None = None,
        ordering: str | None = None,
        min_position: Position | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> Page[Account] | None:
        filters = validated(
            AccountsApi.AccountFilters,
            status=status,
            currency=currency,
            owner=owner,
            ordering=ordering,
            min_position=min_position,
        )
        require_position(filters.get("min_position"), "accounts", log=ledger())
        rows = account_list(user=api_request(info).user, filters=filters)
        return page_of(Account, rows, AccountsApi.AccountListOutput, offset=offset, limit=limit)

    @strawberry_django.field(description="One account, read from its aggregate (consistent).")
    def account(self, info: Info, id: UUID) -> Account | None:
        return from_body(Account, account_body(owned_account(api_request(info), id)))

    @strawberry_django.field(
        description="One account's transactions, newest first, from the transactions projection."
    )
    def transactions(
        self,
        info: Info,
        account: UUID,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        min_position: Position | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> Page[Transaction] | None:
        filters = validated(
            AccountTransactionsApi.EntryFilters,
            kind=kind,
            since=since,
            until=until,
            min_position=min_position,
        )
        owned = owned_account(api_request(info), account)
        require_position(filters.get("min_position"), "transactions", log=ledger())
        rows = entry_list(account_id=owned.id, filters=filters)
        output = AccountTransactionsApi.EntryOutput
        return page_of(Transaction, rows, output, offset=offset, limit=limit)

    @strawberry_django.field(
        description="Transfers to or from your accounts (staff: all), from the transfers "
        "projection."
    )
    def transfers(
        self,
        info: Info,
        status: str | None = None,
        account: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        ordering: str | None = None,
        min_position: Position | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> Page[Transfer] | None:
        filters = validated(
            TransfersApi.TransferFilters,
            status=status,
            account=account,
            since=since,
            until=until,
            ordering=ordering,
            min_position=min_position,
        )
        require_position(filters.get("min_position"), "transfers", log=ledger())
        rows = transfer_list(user=api_request(info).user, filters=filters)
        output = TransfersApi.TransferListOutput
        return page_of(Transfer, rows, output, offset=offset, limit=limit)

    @strawberry_django.field(description="One transfer, read from its saga (consistent).")
    def transfer(self, info: Info, id: UUID) -> Transfer | None:
        return from_body(Transfer, render(TransferOutput, visible_transfer(api_request(info), id)))


@strawberry.input
class TransferFundsInput:
    from_account: UUID
    to_account: UUID
    amount: str = strawberry.field(description='An amount with at most two decimals: "12.50".')
    reference: str | None = None


@strawberry.type
class TransferFundsPayload:
    transfer: Transfer
    position: Position = strawberry.field(
        description="The ledger's log position of this write: pass it as minPosition."
    )


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        description="Move money from one of your accounts: the TransferFunds saga, run to its "
        "end. A refusal is the refusing step's code (insufficient_funds, ...), with the "
        "transfer's id in its details. Idempotency-Key: the same key and input again answer "
        "the first answer."
    )
    def transfer_funds(self, info: Info, input: TransferFundsInput) -> TransferFundsPayload | None:
        request = writing(info)
        body = {
            "from_account": str(input.from_account),
            "to_account": str(input.to_account),
            "amount": input.amount,
            **({"reference": input.reference} if input.reference is not None else {}),
        }
        data = TransfersApi.TransferInput.validated(body)
        fingerprint = mutation_fingerprint(info, body)
        answer = answered(transfer_funds(request, data, fingerprint=fingerprint))
        return from_body(TransferFundsPayload, {"transfer": answer, "position": answer["position"]})
