"""``schema.graphql`` is the schema the code builds: a client generating code from the file, or a
reviewer reading a change to it, sees what ``/graphql`` answers."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from config.graphql import schema

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ".venv/bin/python manage.py export_schema config.graphql --path schema.graphql"


def test_schema_graphql_is_the_schema_the_code_builds() -> None:
    written = (ROOT / "schema.graphql").read_text()
    assert written == print_schema(schema), f"schema.graphql is stale: run `{EXPORT}`"


def test_the_schema_has_the_queries_and_mutations_of_the_issue() -> None:
    printed = print_schema(schema)
    for field in (
        "me:", "accounts(", "account(", "transfer(", "orders(", "order(", "orderWithHistory(",
        "alerts(", "transferFunds(", "placeOrder(", "cancelOrder(", "statusHistory:", "allEvents:",
    ):  # fmt: skip
        assert field in printed, field
