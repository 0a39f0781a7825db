"""The GraphQL schema: each context's queries and mutations merged into one, as ``config/urls.py``
composes each context's URLs. ``schema.graphql`` at the repository's root is its printed form:
``python manage.py export_schema config.graphql --path schema.graphql`` writes it again."""

from __future__ import annotations

from strawberry.tools import merge_types

import api.graphql
import api.graphql_fields
import compliance.graphql
import ledger.graphql
import orders.graphql

Query = merge_types(
    "Query",
    (
        api.graphql_fields.Query,
        ledger.graphql.Query,
        orders.graphql.Query,
        compliance.graphql.Query,
    ),
)
Mutation = merge_types("Mutation", (ledger.graphql.Mutation, orders.graphql.Mutation))

schema = api.graphql.Schema(
    query=Query,
    mutation=Mutation,
    extensions=api.graphql.extensions(),
    config=api.graphql.config(),
)
