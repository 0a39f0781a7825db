"""Token authentication whose query is written once.

Replaces: ``rest_framework.authentication.TokenAuthentication.authenticate_credentials``, which
reads the token with ``Token.objects.select_related("user").get(key=key)``: the ORM compiles
that query anew on every request (and a raw queryset of the same join still resolves its
columns and converters on every call).

Why it is safe: the same join, written once as SQL with the key as a parameter, and its row
made into a ``User`` the way the ORM makes one (the backend's converters, then ``from_db``);
the answers, inactive users and unknown keys included, are DRF's, word for word.

What would break it: a custom user model whose fields need more than the backend's converters;
a token model other than DRF's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from typing import Any
from weakref import WeakKeyDictionary

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.expressions import Col
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

Converters = list[tuple[int, Col, list[Callable[[Any, Col, BaseDatabaseWrapper], Any]]]]


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        found = user_by_token().run(key)
        if found is None:
            raise AuthenticationFailed(_("Invalid token."))
        user, created = found
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user, created=created)


@dataclass(frozen=True)
class UserByToken:
    """The user a token key belongs to, and when the token was made, in one query."""

    sql: str
    fields: tuple[Field[Any, Any], ...]  # the user's concrete fields, then the token's created
    converters_by_connection: WeakKeyDictionary[BaseDatabaseWrapper, Converters] = field(
        default_factory=WeakKeyDictionary, compare=False, repr=False
    )

    def run(self, key: str) -> tuple[Any, datetime] | None:
        db = connections[DEFAULT_DB_ALIAS]
        with db.cursor() as cursor:
            cursor.execute(self.sql, [key])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, column, converters in self.converters(db):
            for converter in converters:
                values[index] = converter(values[index], column, db)
        return get_user_model().from_db(db.alias, self.user_attnames, values[:-1]), values[-1]

    @cached_property
    def user_attnames(self) -> list[str]:
        return [field.attname for field in self.fields[:-1]]

    def converters(self, db: BaseDatabaseWrapper) -> Converters:
        """What the ORM's compiler applies to each column (``SQLCompiler.get_converters``),
        worked out once per connection."""
        if db not in self.converters_by_connection:
            columns = [field.get_col(field.model._meta.db_table) for field in self.fields]
            self.converters_by_connection[db] = [
                (index, column, converters)
                for index, column in enumerate(columns)
                if (converters := db.ops.get_db_converters(column) + column.get_db_converters(db))
            ]
        return self.converters_by_connection[db]


@cache
def user_by_token() -> UserByToken:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    user, token = get_user_model()._meta, Token._meta
    created = token.get_field("created")
    selected = [f"u.{quote(field.column)}" for field in user.concrete_fields]
    # Only quoted table and column names go into the text; the key is a parameter.
    return UserByToken(
        f"SELECT {', '.join(selected)}, t.{quote(created.column)} "  # noqa: S608
        f"FROM {quote(user.db_table)} u JOIN {quote(token.db_table)} t "
        f"ON t.{quote(token.get_field('user').column)} = u.{quote(user.pk.column)} "
        f"WHERE t.{quote(token.pk.column)} = %s",
        (*user.concrete_fields, created),
    )
