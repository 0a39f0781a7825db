"""What every context's GraphQL shares: the view at ``/graphql``, the errors, the limits, pages,
data loaders, and the way a mutation goes through the REST API's own machinery.

The view authenticates as the REST API does (DRF's authentication classes: a token, or a
session whose POSTs carry their CSRF token) and refuses anyone else before any GraphQL is read.
Every error, whether of the request or of one field, carries the REST API's code for the same
refusal in ``errors[].extensions.code``, with its ``details``. Each context declares its types,
queries and mutations beside its REST views (``ledger/graphql.py``, ...); ``config/graphql.py``
merges them into the schema.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NewType, TypeVar
from uuid import UUID

import strawberry
from asgiref.sync import sync_to_async
from cross_web import HTTPException
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from graphql import GraphQLError
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from strawberry.dataloader import DataLoader
from strawberry.django.views import AsyncGraphQLView
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from api.errors import ApiError
from api.exception_handlers import error_body, error_response
from api.idempotency import fingerprint_of
from api.pagination import MAX_PAGE_SIZE
from api.parsers import ExactJSONParser, parse_exactly
from api.serializers import LARGEST_POSITION, WholeNumberField, render_many, serialization

logger = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

# A list's page when the query names no limit: the REST API's.
PAGE_SIZE = typing.cast(int, api_settings.PAGE_SIZE)
# A document is judged by these before anything runs (introspection's own depth aside).
MAX_DEPTH = 8
MAX_TOKENS = 2_000
MAX_ALIASES = 20

# What a refusal of the request itself (strawberry's ``HTTPException``) is called, by status.
_TRANSPORT_CODES = {400: "invalid", 404: "not_found", 405: "method_not_allowed"}
_UNEXPECTED = "Something went wrong on our side; it was logged."


# --- The view --------------------------------------------------------------------------------


@dataclass
class Context:
    """What a resolver knows of its request: the request as DRF authenticated it, and the
    request's data loaders (one per batch function, so nothing they cache outlives it)."""

    request: Request
    loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = field(default_factory=dict)


class GraphQLView(AsyncGraphQLView):
    """strawberry's Django view (async, for data loaders), with the REST API's authentication,
    its JSON parsing, and its error codes for a request refused before any GraphQL runs. In a
    browser, GraphiQL (``api/templates/graphql/graphiql.html``) is the page, for anyone: it
    holds no data, and its queries are requests like any other."""

    async def dispatch(  # type: ignore[override]  # strawberry's own is async too
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        try:
            if self.should_render_graphql_ide(self.request_adapter_class(request)):
                return await self.run(request=request)
            context = Context(await sync_to_async(authenticated)(request))
            # strawberry's overloads type a context as None; any object is one at run time
            return await self.run(request=request, context=context)  # type: ignore[call-overload]
        except HTTPException as exc:
            code = _TRANSPORT_CODES.get(exc.status_code, "invalid")
            return refused(exc.status_code, error_body(code, exc.reason))
        except Exception as exc:
            refusal = error_response(exc)
            if refusal is None:
                raise
            wait = refusal.headers.get("Retry-After")  # not its Content-Type: it is no page
            return refused(refusal.status_code, refusal.data, {"Retry-After": wait} if wait else {})

    async def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        get_token(request)  # the csrftoken cookie, which the page sends back with each POST
        return await super().render_graphql_ide(request)

    def decode_json(self, data: str | bytes) -> object:
        request = parse_exactly(data if isinstance(data, bytes) else data.encode())
        if not isinstance(request, dict | list):  # strawberry reads anything else as an object
            raise exceptions.ParseError("A GraphQL request is a JSON object.")
        return request


def authenticated(request: HttpRequest) -> Request:
    """The request as a REST view sees it, its user authenticated by the REST API's classes:
    a token, or a session (whose POSTs must carry the CSRF token, as DRF checks it). Anyone
    else is ``not_authenticated``."""
    # Read (within the body limit) and kept now, so that DRF's CSRF check and GraphQL can
    # both read it.
    request.body  # noqa: B018
    api_request = Request(
        request,
        parsers=[ExactJSONParser()],
        authenticators=[auth() for auth in _classes(api_settings.DEFAULT_AUTHENTICATION_CLASSES)],
    )
    if not api_request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return api_request


def _classes(names: Any) -> list[type[Any]]:
    """DRF's setting of classes, which it has imported (its stubs type them as their names)."""
    return list(names)


def refused(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """A request refused whole, in GraphQL's shape: one error with the REST API's code."""
    extensions = {"code": body["code"], "details": body["details"]}
    response = JsonResponse({"errors": [{"message": body["message"], "extensions": extensions}]})
    response.status_code = status
    for name, value in (headers or {}).items():
        response[name] = value
    if status == 401:
        response["WWW-Authenticate"] = "Token"  # as DRF answers: the scheme it takes
    return response


# --- Errors and limits -------------------------------------------------------------------------


def coded(error: GraphQLError) -> GraphQLError:
    """The error with the REST API's ``code`` (and ``details``) for what caused it. An error of
    the document itself (its syntax, a type, a limit) is ``invalid``; one a resolver raised is
    what ``api.exception_handlers.error_response`` makes of it; anything else is ``error``, its
    message masked (strawberry logs it, with its traceback)."""
    if error.path is None or error.original_error is None:
        body = error_body("invalid", error.message)
    else:
        refusal = error_response(error.original_error)
        body = refusal.data if refusal is not None else error_body("error", _UNEXPECTED)
    return GraphQLError(
        body["message"],
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={"code": body["code"], "details": body["details"]},
    )


class ErrorCodes(SchemaExtension):
    """Gives every error of an answer its code (``coded``)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(error) for error in result.errors]


class Schema(strawberry.Schema):
    """strawberry's schema, logging only the errors nobody expected: a refusal with a code
    (not found, insufficient funds, a bad input) is an answer, not a fault."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [
            e
            for e in errors
            if e.path is not None
            and e.original_error is not None
            and error_response(e.original_error) is None
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def extensions() -> list[Callable[[], SchemaExtension]]:
    """The schema's extensions: the limits a document must keep, then the error codes."""
    return [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        ErrorCodes,
    ]


# --- Reading -----------------------------------------------------------------------------------


def api_request(info: Info) -> Request:
    """The request a resolver runs for, as DRF authenticated it."""
    context: Context = info.context
    return context.request


def staff_only(info: Info) -> Request:
    """The request, if its user is staff (as ``IsAdminUser`` decides for the REST views);
    otherwise ``permission_denied``."""
    request = api_request(info)
    if not IsAdminUser().has_permission(request, None):  # type: ignore[arg-type]  # no view
        raise exceptions.PermissionDenied()
    return request


def validated(serializer_class: type[serializers.Serializer], **given: Any) -> dict[str, Any]:
    """The arguments given (None: not given), validated by the serializer the REST view
    validates the same input with: one set of rules, one ``invalid`` error."""
    data = {name: value for name, value in given.items() if value is not None}
    return serialization().validate(serializer_class, data)


Position = NewType("Position", int)


def _position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LARGEST_POSITION:
        raise ValueError(f"Expected a whole number from 0 to {LARGEST_POSITION}.")
    return value


def config() -> StrawberryConfig:
    """The schema's configuration: ``Position``, a scalar of its own."""
    position = strawberry.scalar(
        name="Position",
        description="A position in a context's log (a notification id): a whole number up to "
        "2^63 - 1, which GraphQL's 32-bit Int cannot hold.",
        serialize=int,
        parse_value=_position,
    )
    return StrawberryConfig(scalar_map={Position: position})


@strawberry.type
class Page(Generic[T]):
    """One page of a list: ``limit`` results from ``offset``, of ``total_count``."""

    total_count: int
    offset: int
    limit: int
    results: list[T]


class PageWindow(serializers.Serializer):
    offset = WholeNumberField(min_value=0, max_value=LARGEST_POSITION)
    limit = WholeNumberField(min_value=1, max_value=MAX_PAGE_SIZE)


def page_of(
    kind: type[T],
    rows: QuerySet[Any],
    serializer_class: type[serializers.Serializer],
    *,
    offset: int,
    limit: int,
) -> Page[T]:
    """A page of ``rows``, each rendered by the REST view's serializer and built as ``kind``.
    A limit above the REST API's page size is ``invalid``, never cut down."""
    window = validated(PageWindow, offset=offset, limit=limit)
    start, stop = window["offset"], window["offset"] + window["limit"]
    bodies = render_many(serializer_class, rows[start:stop])
    return Page(
        total_count=rows.count(),
        offset=start,
        limit=window["limit"],
        results=[from_body(kind, body) for body in bodies],
    )


def from_body(kind: type[T], body: Mapping[str, Any]) -> T:
    """A GraphQL object from the body the REST API renders for the same thing: each of its
    fields from the key of that name, times parsed and nested objects built alike. One
    rendering serves both APIs, and a replayed mutation (whose first answer is kept as that
    body) builds the same object again."""
    hints = typing.get_type_hints(kind)
    values = {
        f.name: _built(hints[f.name], body.get(f.name))
        for f in dataclasses.fields(kind)  # type: ignore[arg-type]  # a strawberry type
        if f.init
    }
    return kind(**values)


def _built(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [h for h in typing.get_args(hint) if h is not type(None)]
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return [_built(item, v) for v in value]
    if hint is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if hint is UUID and isinstance(value, str):
        return UUID(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_body(typing.cast(type, hint), value)
    return value


def loader(info: Info, batch: Callable[[Sequence[K]], Mapping[K, V]]) -> DataLoader[K, V]:
    """This request's data loader for ``batch``, a function that reads many keys at once (in
    one query) and answers a value by key; a key it leaves out loads as None."""
    loaders = typing.cast(Context, info.context).loaders
    if batch not in loaders:

        def load(keys: list[K]) -> list[V | None]:
            found = batch(keys)
            return [found.get(key) for key in keys]

        loaders[batch] = DataLoader(load_fn=sync_to_async(load))
    return loaders[batch]


# --- Writing -----------------------------------------------------------------------------------


def writing(info: Info) -> Request:
    """The request, once the REST API's write throttle has let one more write through (a
    request may carry several mutations: each is a write)."""
    request = api_request(info)
    for throttle_class in _classes(api_settings.DEFAULT_THROTTLE_CLASSES):
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait())
    return request


def mutation_fingerprint(info: Info, arguments: Any) -> str:
    """What tells this mutation from another sent with the same ``Idempotency-Key``: its name
    and its arguments (the request's other mutations and selections aside)."""
    return fingerprint_of("POST", f"{api_request(info).path}#{info.field_name}", arguments)


def answered(response: Response) -> dict[str, Any]:
    """The body of a REST operation's answer, or its refusal raised (a first one, or one
    replayed for its ``Idempotency-Key``) with its code, message and details."""
    body: dict[str, Any] = dict(response.data)
    if response.status_code >= 400:
        raise ApiError(response.status_code, body["code"], body["message"], body["details"])
    return body


# --- Who is asking ------------------------------------------------------------------------------


@strawberry.type
class Me:
    username: str
    is_staff: bool


@strawberry.type
class Query:
    @strawberry.field(description="The user the request is authenticated as.")
    def me(self, info: Info) -> Me:
        user = api_request(info).user
        return Me(username=user.get_username(), is_staff=bool(user.is_staff))
