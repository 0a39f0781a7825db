"""GraphQL at ``/graphql``: the view, the errors, the limits and the schema's configuration
that every context's GraphQL shares (what its resolvers use is ``api.graphql_fields``).

The view authenticates as the REST API does (DRF's authentication classes: a token, or a
session whose POSTs carry their CSRF token) and refuses anyone else before any GraphQL is read.
Every error, whether of the request or of one field, carries the REST API's code for the same
refusal in ``errors[].extensions.code``, with its ``details``. Each context declares its types,
queries and mutations beside its REST views (``ledger/graphql.py``, ...); ``config/graphql.py``
merges them into the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import strawberry
from asgiref.sync import sync_to_async
from cross_web import HTTPException
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from graphql import GraphQLError
from rest_framework import exceptions
from strawberry.django.views import AsyncGraphQLView
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from api.consistency import reading_projections
from api.exception_handlers import error_body, error_response
from api.graphql_fields import Context, Position, parse_position
from api.parsers import parse_exactly
from api.permissions import authenticated

# A document is judged by these before anything runs (introspection's own depth aside).
MAX_DEPTH = 8
MAX_TOKENS = 2_000
MAX_ALIASES = 20

# What a refusal of the request itself (strawberry's ``HTTPException``) is called, by status.
_TRANSPORT_CODES = {400: "invalid", 404: "not_found", 405: "method_not_allowed"}
_UNEXPECTED = "Something went wrong on our side; it was logged."


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


class ProjectionReads(SchemaExtension):
    """A query runs in a ``reading_projections()`` scope, as the REST lists do: its reads of the
    projections (and its ``minPosition`` waits) may be served by the read replica. A mutation
    does not: it writes, and reads what it writes on the primary."""

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is not OperationType.QUERY:
            yield
            return
        with reading_projections():
            yield


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
    """The schema's extensions: the limits a document must keep, the error codes, and where a
    query's reads of the projections go."""
    return [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        ErrorCodes,
        ProjectionReads,
    ]


def config() -> StrawberryConfig:
    """The schema's configuration: ``Position``, a scalar of its own."""
    position = strawberry.scalar(
        name="Position",
        description="A position in a context's log (a notification id): a whole number up to "
        "2^63 - 1, which GraphQL's 32-bit Int cannot hold.",
        serialize=int,
        parse_value=parse_position,
    )
    return StrawberryConfig(scalar_map={Position: position})
