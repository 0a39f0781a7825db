"""Event store URLs become the environment the eventsourcing library reads."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.stores import eventstore_env


def test_a_sqlite_url_names_a_file(tmp_path) -> None:
    env = eventstore_env(f"sqlite:///{tmp_path}/ledger.sqlite3")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == f"{tmp_path}/ledger.sqlite3"


def test_a_postgres_url_names_server_database_and_schema() -> None:
    env = eventstore_env("postgresql://bank:s%40cret@db.internal:6543/ledger?schema=ctx")
    assert env["PERSISTENCE_MODULE"] == "config.tables:PostgresFactory"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal",
        "6543",
        "ledger",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_SCHEMA"]) == (
        "bank",
        "s@cret",
        "ctx",
    )
    assert (
        "POSTGRES_ENABLE_DB_FUNCTIONS" not in env
    )  # it makes tailing readers miss events (docs/decisions/0001)


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///:memory:", "sqlite://"])
def test_unsupported_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        eventstore_env(url)
