"""Each bounded context writes to an event store of its own."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest

from config.container import Container, build_container
from config.stores import eventstore_env
from tests.conftest import CONTEXTS
from tests.testapp.markers import Marker


def test_each_context_writes_to_a_store_of_its_own(container: Container) -> None:
    markers = {name: Marker(id=uuid4()) for name in CONTEXTS}
    for name, app in container.applications.items():
        app.save(markers[name])
    for name, app in container.applications.items():
        logged = {n.originator_id for n in app.notifications_after(0, 100)}
        assert logged == {markers[name].id}, f"{name} sees another context's events"


def test_stores_are_physically_apart(container: Container, store_urls: dict[str, str]) -> None:
    """SQLite: one file per context. PostgreSQL: one table per context (<context>_events)."""
    for app in container.applications.values():
        app.save(Marker(id=uuid4()))
    envs = {name: eventstore_env(url) for name, url in store_urls.items()}
    if envs["ledger"]["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        files = {env["SQLITE_DBNAME"] for env in envs.values()}
        assert len(files) == len(CONTEXTS)
        return
    env = envs["ledger"]
    with psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"],
    ) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (env["POSTGRES_SCHEMA"],),
            )
        }
        assert {f"{name}_events" for name in CONTEXTS} <= tables
        for name in CONTEXTS:
            (count,) = conn.execute(  # type: ignore[misc]
                f'SELECT count(*) FROM "{env["POSTGRES_SCHEMA"]}".{name}_events'
            ).fetchone()
            assert count == 1


def test_contexts_can_live_in_separate_postgres_databases(
    postgres_url: str | None, stores_database: str | None
) -> None:
    """The federated set-up: each context's store in a database of its own."""
    if postgres_url is None:
        pytest.skip("needs PostgreSQL")
    from tests.conftest import admin_connection, database_url

    names = {c: f"eventbank_test_{c}_{uuid4().hex[:8]}" for c in CONTEXTS}
    with admin_connection(postgres_url) as conn:
        for db in names.values():
            conn.execute(f'CREATE DATABASE "{db}"')
    built = build_container({c: database_url(postgres_url, db) for c, db in names.items()})
    try:
        for app in built.applications.values():
            app.save(Marker(id=uuid4()))
            assert len(app.notifications_after(0, 10)) == 1
    finally:
        built.close()
        with admin_connection(postgres_url) as conn:
            for db in names.values():
                conn.execute(f'DROP DATABASE "{db}" WITH (FORCE)')


def test_accounts_are_snapshotted_every_hundredth_event_and_read_right_from_them(
    container: Container, store_urls: dict[str, str]
) -> None:
    ledger = container.ledger
    account = ledger.open_account("alice", "EUR")
    for n in range(1, 205):
        ledger.deposit(account.id, 1, f"deposit {n}")
    assert ledger.snapshots is not None
    assert [s.originator_version for s in ledger.snapshots.get(account.id)] == [100, 200]

    elsewhere = build_container(store_urls)  # another process: an empty aggregate cache
    try:
        read = elsewhere.ledger.get_account(account.id)
    finally:
        elsewhere.close()
    assert (read.version, read.balance) == (205, 204)
