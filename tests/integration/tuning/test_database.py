"""Django's connection to PostgreSQL is checked before each request's first query by looking at
its socket: no round trip while it is healthy, and a connection the server closed is noticed
and replaced before the request's own query."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base

from tuning.database.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def wrapper() -> Iterator[DatabaseWrapper]:
    """A connection of its own to the test database, in autocommit as between requests."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    assert isinstance(connections["default"], DatabaseWrapper)  # the backend settings.py chose
    own = DatabaseWrapper({**connection.settings_dict}, alias="health-check")
    own.ensure_connection()
    yield own
    own.close()


def backend_pid(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_healthy_idle_connection_is_usable_without_a_query(
    wrapper: DatabaseWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend_pid(wrapper)

    def no_query(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(wrapper.connection, "cursor", no_query)
    assert wrapper.is_usable()


def test_a_connection_not_idle_is_left_to_djangos_select_1(
    wrapper: DatabaseWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    djangos = base.DatabaseWrapper.is_usable

    def select_1(self: DatabaseWrapper) -> bool:
        asked.append(djangos(self))
        return asked[-1]

    monkeypatch.setattr(base.DatabaseWrapper, "is_usable", select_1)
    assert wrapper.is_usable()
    assert asked == []
    with wrapper.cursor() as cursor:
        cursor.execute("BEGIN")
        assert wrapper.is_usable()
        cursor.execute("ROLLBACK")
    assert asked == [True]


def test_a_connection_the_server_closed_is_noticed_and_replaced(wrapper: DatabaseWrapper) -> None:
    pid = backend_pid(wrapper)
    with connection.cursor() as admin:  # the test's own connection
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while wrapper.is_usable():  # the server's FATAL reaches the socket
        assert time.monotonic() < deadline, "the terminated connection still looks usable"
        time.sleep(0.01)
    # What Django does before a request's first query: check, close, and connect anew.
    wrapper.health_check_done = False  # type: ignore[attr-defined]  # (Django's, untyped)
    wrapper.close_if_health_check_failed()
    assert wrapper.connection is None
    assert backend_pid(wrapper) != pid
