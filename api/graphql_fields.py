"""What a context's GraphQL resolvers use: the request and its data loaders, the REST
serializers' validation and rendering, pages, and the way a mutation goes through the REST API's
own machinery (its write throttle, its ``Idempotency-Key``, its answers)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NewType, TypeVar
from uuid import UUID

import strawberry
from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from api.errors import ApiError
from api.idempotency import fingerprint_of
from api.pagination import MAX_PAGE_SIZE
from api.permissions import drf_classes
from api.serializers import LARGEST_POSITION, WholeNumberField, render_many, serialization

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

# A list's page when the query names no limit: the REST API's.
PAGE_SIZE = typing.cast(int, api_settings.PAGE_SIZE)


@dataclass
class Context:
    """What a resolver knows of its request: the request as DRF authenticated it, and the
    request's data loaders (one per batch function, so nothing they cache outlives it)."""

    request: Request
    loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = field(default_factory=dict)


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


# A log position as an argument or a field: the schema's scalar ``Position`` (api.graphql.config).
Position = NewType("Position", int)


def parse_position(value: Any) -> int:
    """A ``Position`` given as a variable: a JSON integer within a PostgreSQL bigint."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LARGEST_POSITION:
        raise ValueError(f"Expected a whole number from 0 to {LARGEST_POSITION}.")
    return value


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
    for throttle_class in drf_classes(api_settings.DEFAULT_THROTTLE_CLASSES):
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
