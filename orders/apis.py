"""The orders context's REST endpoints: parse, call the application, render.

Writes go to the aggregates through ``OrdersApplication``; lists and order reads come from the
``orders`` and ``products`` projections (eventually consistent: a write's ``position`` given as
``?min_position=`` waits for it). The history endpoint puts the projection's current state beside
the event store's record. A customer sees only its own orders: anyone else's is a 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.consistency import min_position_field, reads_projections, require_position
from api.errors import ApiError
from api.idempotency import run_idempotently
from api.pagination import PageParameters, paginated, query_filters
from api.permissions import may_see
from api.schema import IDEMPOTENCY_KEY, LIST, READ, WRITE, errors, page_of
from api.serializers import (
    SKU_PATTERN,
    AmountField,
    BoundedListField,
    InputSerializer,
    PositionField,
    TextField,
    render,
)
from config.container import get_container
from orders.application import OrdersApplication
from orders.domain import Order, OrderNotFound, OrderStatus, Product
from orders.history import StatusOutput, order_histories
from projections.models import OrderSummary
from projections.selectors import ORDER_ORDERINGS, order_get, order_list, product_list
from sagas.engine import SagaStatus


def orders() -> OrdersApplication:
    return get_container().orders


def owned_order(request: Request, order_id: UUID) -> Order:
    """The order, if this user may see it; otherwise "not found", as if it did not exist."""
    order = orders().get_order(order_id)
    if not (request.user.is_staff or order.customer == request.user.get_username()):
        raise OrderNotFound(f"Order {order_id} not found.")
    return order


def paying_customer(request: Request, account_id: UUID) -> str:
    """The owner of the account an order is paid from, if this user may pay from it; otherwise
    "not found", as if it did not exist (the ledger says so itself of an unknown account)."""
    owner = orders().payments.owner_of(account_id)
    if not may_see(request, owner):
        raise ApiError(404, "not_found", f"Account {account_id} not found.")
    return owner


def with_position(body: Any) -> dict[str, Any]:
    return {**body, "position": orders().position_written()}


# --- Products --------------------------------------------------------------------------------


class ProductOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    price = AmountField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    version = serializers.IntegerField()


class ProductWrittenOutput(ProductOutput):
    position = PositionField()


def product_body(product: Product) -> dict[str, Any]:
    return with_position(render(ProductWrittenOutput, product))


class ProductsApi(APIView):
    class ProductFilters(serializers.Serializer):
        in_stock = serializers.BooleanField(required=False, help_text="only what can be ordered")
        min_position = min_position_field()

    @extend_schema(
        operation_id="list_products",
        parameters=[ProductFilters, PageParameters],
        responses={200: page_of(ProductOutput), **errors(*LIST)},
        description="From the products projection (eventually consistent; see min_position).",
    )
    @reads_projections
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.ProductFilters)
        require_position(filters.get("min_position"), "products", log=orders())
        return paginated(request, self, product_list(filters=filters), ProductOutput)

    class CreateProductInput(InputSerializer):
        sku = serializers.RegexField(SKU_PATTERN)
        name = TextField(max_length=200)
        price = AmountField()
        stock = serializers.IntegerField(min_value=0, max_value=1_000_000)

    @extend_schema(
        operation_id="create_product",
        request=CreateProductInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ProductWrittenOutput,
            **errors(
                400, 401, 403, 422, 429, 503,
                refusals={"already_exists": "Product mug exists with other details."},
            ),
        },
        examples=[
            OpenApiExample(
                "a product",
                {"sku": "mug", "name": "Enamel mug", "price": "8.00", "stock": 50},
                request_only=True,
            )
        ],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        if not request.user.is_staff:
            raise ApiError(403, "permission_denied", "Only staff may add products.")
        data = self.CreateProductInput.validated(request.data)

        def create(operation_id: UUID) -> Response:
            product = orders().create_product(
                data["sku"], data["name"], data["price"], data["stock"]
            )
            return Response(product_body(product), status=201)

        return run_idempotently(request, create)


class ProductStockApi(APIView):
    permission_classes = [IsAdminUser]

    class AddStockInput(InputSerializer):
        quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)

    @extend_schema(
        operation_id="add_stock",
        request=AddStockInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ProductWrittenOutput, **errors(*WRITE, 403)},
        examples=[OpenApiExample("a delivery", {"quantity": 24}, request_only=True)],
    )
    def post(self, request: Request, sku: str) -> Response:
        data = self.AddStockInput.validated(request.data)
        orders().get_product(sku)  # 404 before the key is spent

        def add(operation_id: UUID) -> Response:
            product = orders().add_stock(sku, data["quantity"], reference=str(operation_id))
            return Response(product_body(product), status=201)

        return run_idempotently(request, add)


# --- Orders ----------------------------------------------------------------------------------


class ItemOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    price = AmountField()


class OrderOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    account = serializers.UUIDField()
    total = AmountField()
    currency = serializers.CharField()
    items = ItemOutput(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderWrittenOutput(OrderOutput):
    """An order as its aggregate has it, right after a write."""

    created_at = serializers.DateTimeField(source="created_on")
    updated_at = serializers.DateTimeField(source="modified_on")
    cancel_reason = serializers.CharField(allow_null=True)
    position = PositionField()


def order_written_body(order: Order) -> dict[str, Any]:
    return with_position(render(OrderWrittenOutput, order))


class OrderItemInput(InputSerializer):
    """One line of an order: a SKU and how many."""

    sku = serializers.RegexField(SKU_PATTERN)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class OrdersApi(APIView):
    class OrderFilters(serializers.Serializer):
        status = serializers.ChoiceField([str(status) for status in OrderStatus], required=False)
        account = serializers.UUIDField(required=False)
        owner = TextField(required=False, max_length=150, help_text="Staff only.")
        since = serializers.DateTimeField(required=False, help_text="created at or after")
        until = serializers.DateTimeField(required=False, help_text="created before")
        ordering = serializers.ChoiceField(sorted(ORDER_ORDERINGS), required=False)
        min_position = min_position_field()

    @extend_schema(
        operation_id="list_orders",
        parameters=[OrderFilters, PageParameters],
        responses={200: page_of(OrderOutput), **errors(*LIST)},
        description="From the orders projection (eventually consistent; see min_position).",
    )
    @reads_projections
    def get(self, request: Request) -> Response:
        filters = query_filters(request, self.OrderFilters)
        require_position(filters.get("min_position"), "orders", log=orders())
        return paginated(request, self, order_list(user=request.user, filters=filters), OrderOutput)

    class PlaceOrderInput(InputSerializer):
        account = serializers.UUIDField(
            help_text="your account that pays (staff: any account; the order is then its owner's)"
        )
        items = BoundedListField(
            child=OrderItemInput(),
            min_length=1,
            max_length=50,
            help_text="each SKU at most once (a repeated one is 400)",
        )

    @extend_schema(
        operation_id="place_order",
        request=PlaceOrderInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OrderWrittenOutput,
            **errors(
                *WRITE,
                refusals={
                    "out_of_stock": "Only 3 of mug available; 5 wanted.",
                    "insufficient_funds": "Account cannot pay this amount.",
                    "account_frozen": "Account is frozen.",
                },
            ),
        },
        examples=[
            OpenApiExample(
                "two lines",
                {
                    "account": "6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2",
                    "items": [
                        {"sku": "coffee-beans", "quantity": 2},
                        {"sku": "mug", "quantity": 1},
                    ],
                },
                request_only=True,
            )
        ],
        description="Runs the PlaceOrder saga and answers with its final state: 201 when "
        "confirmed, the total held on the paying account until the order ships (available "
        "down, balance unchanged); 409 out_of_stock, insufficient_funds (against what is "
        "available), account_frozen, ... when it was cancelled (nothing reserved, nothing held; "
        "the order id in details).",
    )
    def post(self, request: Request) -> Response:
        return place_order(request, self.PlaceOrderInput.validated(request.data))


def place_order(
    request: Request, data: dict[str, Any], *, fingerprint: str | None = None
) -> Response:
    """A validated order, for REST and GraphQL alike, run at most once per Idempotency-Key:
    201 with the order confirmed, or 409 with the refusing code (the order then cancelled)."""
    # A customer pays only with its own money. Staff may place an order on any account,
    # and the order is then the account owner's: the customer sees it, and may cancel it.
    customer = paying_customer(request, data["account"])
    lines = [(item["sku"], item["quantity"]) for item in data["items"]]

    def place(operation_id: UUID) -> Response:
        placement = orders().place_order(customer, data["account"], lines, order_id=operation_id)
        if placement.status != SagaStatus.COMPLETED:
            raise ApiError(
                409,
                placement.failure_code or "order_failed",
                placement.failure_reason or "The order could not be placed.",
                {"order_id": str(placement.order_id), "status": "cancelled"},
            )
        order = orders().get_order(placement.order_id)
        return Response(order_written_body(order), status=201)

    return run_idempotently(request, place, fingerprint=fingerprint)


class DetailFilters(serializers.Serializer):
    min_position = min_position_field()


def projected_order(request: Request, order_id: UUID, min_position: int | None) -> OrderSummary:
    """The order as the orders projection has it (once it has applied ``min_position``), if
    this user may see it."""
    require_position(min_position, "orders", log=orders())
    row = order_get(user=request.user, order_id=order_id)
    if row is None:
        raise OrderNotFound(f"Order {order_id} not found.")
    return row


def order_for_history(request: Request, order_id: UUID, min_position: int | None) -> OrderSummary:
    """The projection's row of an order whose history is asked for. The record decides
    whether the order exists and is this user's; a projection that has not seen it yet is
    ``projection_behind``, not "not found"."""
    order = owned_order(request, order_id)
    require_position(min_position, "orders", log=orders())
    row = order_get(user=request.user, order_id=order.id)
    if row is None:
        raise ApiError(
            503,
            "projection_behind",
            f"The orders projection has not seen order {order_id} yet; retry shortly.",
            {"projection": "orders", "source": "orders"},
        )
    return row


class OrderDetailApi(APIView):
    @extend_schema(
        operation_id="get_order",
        parameters=[DetailFilters],
        responses={200: OrderOutput, **errors(400, *READ)},
        description="From the orders projection (eventually consistent; see min_position).",
    )
    @reads_projections
    def get(self, request: Request, order_id: UUID) -> Response:
        filters = query_filters(request, DetailFilters)
        row = projected_order(request, order_id, filters.get("min_position"))
        return Response(render(OrderOutput, row))


class OrderHistoryOutput(OrderOutput):
    status_history = StatusOutput(many=True)
    events = serializers.ListField(child=serializers.DictField())


class OrderHistoryApi(APIView):
    @extend_schema(
        operation_id="order_history",
        parameters=[DetailFilters],
        responses={200: OrderHistoryOutput, **errors(400, *READ)},
        description="The order's current state from the orders projection, beside its status "
        "history and every event of it and its sagas, read from the event store.",
    )
    @reads_projections
    def get(self, request: Request, order_id: UUID) -> Response:
        filters = query_filters(request, DetailFilters)
        row = order_for_history(request, order_id, filters.get("min_position"))
        return Response({**render(OrderOutput, row), **order_histories([row.id])[row.id]})


class ShipOrderApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="ship_order",
        request=None,
        responses={
            200: OrderWrittenOutput,
            **errors(
                401, 403, 404, 429, 503,
                refusals={
                    "invalid_state": "Order is pending; cannot ship it.",
                    "payment_expired": "The payment of order ... expired before the order shipped.",
                },
            ),
        },
        description="Runs the ShipOrder saga: the payment's hold captured, then the order shipped "
        "and its stock committed. 409 invalid_state unless confirmed; 409 payment_expired when "
        "the hold expired first (the order is then cancelled and its stock released).",
    )  # fmt: skip
    def post(self, request: Request, order_id: UUID) -> Response:
        return Response(order_written_body(orders().ship_order(order_id)))


class CancelOrderApi(APIView):
    @extend_schema(
        operation_id="cancel_order",
        request=None,
        responses={
            200: OrderWrittenOutput,
            **errors(*READ, 429, refusals={"invalid_state": "Order is shipped; cannot cancel it."}),
        },
        description="Runs the CancelOrder saga: the payment's hold voided (an order paid by "
        "transfer, before holds, is refunded), the stock released, cancelled. 409 invalid_state "
        "once shipping or shipped (or while still being placed).",
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        return Response(cancel_order(request, order_id))


def cancel_order(request: Request, order_id: UUID) -> dict[str, Any]:
    """Cancel one of the user's orders (staff: anyone's), for REST and GraphQL alike: the order
    as it then is."""
    order = owned_order(request, order_id)
    return order_written_body(orders().cancel_order(order.id))
