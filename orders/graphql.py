"""Orders in GraphQL: products, orders with their history, and the ``placeOrder`` and
``cancelOrder`` mutations, each doing what the REST view of the same name does.

An order's ``statusHistory`` and ``allEvents`` come from the event store, beside the
projection's current state, as ``GET /api/orders/{id}/history/`` puts them: the hybrid read.
They are resolved through a data loader, so a page of orders with their histories reads the
store once (``orders/history.py::order_histories``), not once per order and saga."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
import strawberry_django
from strawberry.scalars import JSON
from strawberry.types import Info

from api.consistency import require_position
from api.graphql_fields import (
    PAGE_SIZE,
    Page,
    Position,
    answered,
    api_request,
    from_body,
    loader,
    mutation_fingerprint,
    page_of,
    validated,
    writing,
)
from api.serializers import render
from orders.apis import (
    DetailFilters,
    OrderOutput,
    OrdersApi,
    ProductOutput,
    ProductsApi,
    cancel_order,
    order_for_history,
    orders,
    place_order,
    projected_order,
)
from orders.history import order_histories
from projections.selectors import order_list, product_list


@strawberry.type(
    description="A product of the catalogue, with its stock (the products projection)."
)
class Product:
    sku: str
    name: str
    price: str
    on_hand: int
    reserved: int
    available: int
    version: int


@strawberry.type(description="One line of an order: the unit price when ordered.")
class Item:
    sku: str
    quantity: int
    price: str


@strawberry.type(description="A status the order took, from its stored events.")
class StatusChange:
    status: str
    at: datetime


@strawberry.type(
    description="An order: its current state from the orders projection; its history from "
    "the event store."
)
class Order:
    id: UUID
    status: str
    account: UUID
    total: str
    currency: str
    items: list[Item]
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Each status the order took, from its own stored events.")
    async def status_history(self, info: Info) -> list[StatusChange]:
        history = await loader(info, order_histories).load(self.id)
        return [from_body(StatusChange, change) for change in history["status_history"]]

    @strawberry.field(
        description="Every stored event of the order and its sagas, in the order they happened, "
        "as published envelopes, each with its position in the orders log."
    )
    async def all_events(self, info: Info) -> list[JSON]:
        history: dict[str, Any] = await loader(info, order_histories).load(self.id)
        return list(history["events"])


@strawberry.type
class Query:
    @strawberry_django.field(description="The catalogue, by SKU, from the products projection.")
    def products(
        self,
        in_stock: bool | None = None,
        min_position: Position | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> Page[Product] | None:
        filters = validated(
            ProductsApi.ProductFilters, in_stock=in_stock, min_position=min_position
        )
        require_position(filters.get("min_position"), "products", log=orders())
        return page_of(
            Product, product_list(filters=filters), ProductOutput, offset=offset, limit=limit
        )

    @strawberry_django.field(description="Your orders (staff: all), from the orders projection.")
    def orders(
        self,
        info: Info,
        status: str | None = None,
        account: UUID | None = None,
        owner: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        ordering: str | None = None,
        min_position: Position | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> Page[Order] | None:
        filters = validated(
            OrdersApi.OrderFilters,
            status=status,
            account=account,
            owner=owner,
            since=since,
            until=until,
            ordering=ordering,
            min_position=min_position,
        )
        require_position(filters.get("min_position"), "orders", log=orders())
        rows = order_list(user=api_request(info).user, filters=filters)
        return page_of(Order, rows, OrderOutput, offset=offset, limit=limit)

    @strawberry_django.field(description="One order, from the orders projection.")
    def order(
        self,
        info: Info,
        id: UUID,
        min_position: Position | None = None,
    ) -> Order | None:
        filters = validated(DetailFilters, min_position=min_position)
        row = projected_order(api_request(info), id, filters.get("min_position"))
        return from_body(Order, render(OrderOutput, row))

    @strawberry_django.field(
        description="One order for its history: whether it exists (and is yours) is decided by "
        "the event store, its state read from the projection (projection_behind while the "
        "projection has not seen it)."
    )
    def order_with_history(
        self,
        info: Info,
        id: UUID,
        min_position: Position | None = None,
    ) -> Order | None:
        filters = validated(DetailFilters, min_position=min_position)
        row = order_for_history(api_request(info), id, filters.get("min_position"))
        return from_body(Order, render(OrderOutput, row))


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int


@strawberry.input
class PlaceOrderInput:
    account: UUID = strawberry.field(
        description="Your account that pays (staff: any; the order is then its owner's)."
    )
    items: list[OrderLineInput]


@strawberry.type(description="An order as its aggregate has it, right after a write.")
class OrderPayload:
    order: Order
    cancel_reason: str | None
    position: Position = strawberry.field(
        description="The orders log position of this write: pass it as minPosition."
    )


def payload(body: dict[str, Any]) -> OrderPayload:
    fields = {"cancel_reason": body["cancel_reason"], "position": body["position"]}
    return from_body(OrderPayload, {"order": body, **fields})


@strawberry.type
class Mutation:
    @strawberry_django.mutation(
        description="Place an order: the PlaceOrder saga, run to its end. A refusal is the "
        "refusing step's code (out_of_stock, insufficient_funds, ...), with the order's id in "
        "its details. Idempotency-Key: the same key and input again answer the first answer."
    )
    def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload | None:
        request = writing(info)
        body = {
            "account": str(input.account),
            "items": [{"sku": line.sku, "quantity": line.quantity} for line in input.items],
        }
        data = OrdersApi.PlaceOrderInput.validated(body)
        fingerprint = mutation_fingerprint(info, body)
        return payload(answered(place_order(request, data, fingerprint=fingerprint)))

    @strawberry_django.mutation(
        description="Cancel one of your orders: the CancelOrder saga (refund, release, "
        "cancelled); invalid_state once shipped. A cancelled order stays as it is."
    )
    def cancel_order(self, info: Info, id: UUID) -> OrderPayload | None:
        return payload(cancel_order(writing(info), id))
