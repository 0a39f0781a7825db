"""Examples of the ledger endpoints' requests and answers, for the OpenAPI schema (and its
readers): kept here so that ``apis.py`` reads as the endpoints."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

ACCOUNT_ID = "6a1f0a48-4bd8-4b38-9f43-5e0a5b1a77c2"
OTHER_ACCOUNT_ID = "0d4b3f0e-2a55-4c1e-8a3b-2f6f3c1b9e11"

OPEN_ACCOUNT_EXAMPLES = [
    OpenApiExample("in euros", {"currency": "EUR"}, request_only=True),
    OpenApiExample(
        "opened",
        {
            "id": ACCOUNT_ID,
            "owner": "alice",
            "currency": "EUR",
            "balance": "0.00",
            "status": "open",
            "version": 1,
            "position": 42,
        },
        response_only=True,
        status_codes=[201],
    ),
]

MOVEMENT_EXAMPLES = [
    OpenApiExample("an amount", {"amount": "100.00"}, request_only=True),
    OpenApiExample(
        "applied",
        {
            "account": ACCOUNT_ID,
            "amount": "100.00",
            "balance": "250.00",
            "reference": "0b9e4f4e-98d1-5c2b-a4a1-8a3ad1f4b7de",
            "position": 43,
        },
        response_only=True,
        status_codes=[201],
    ),
]

TRANSFER_EXAMPLES = [
    OpenApiExample(
        "a transfer",
        {
            "from_account": ACCOUNT_ID,
            "to_account": OTHER_ACCOUNT_ID,
            "amount": "25.00",
            "reference": "rent",
        },
        request_only=True,
    ),
    OpenApiExample(
        "completed",
        {
            "id": "0b9e4f4e-98d1-5c2b-a4a1-8a3ad1f4b7de",
            "status": "completed",
            "from_account": ACCOUNT_ID,
            "to_account": OTHER_ACCOUNT_ID,
            "amount": "25.00",
            "currency": "EUR",
            "reference": "rent",
            "steps": [
                {
                    "name": "debit_source",
                    "status": "succeeded",
                    "at": "2026-11-24T09:00:00.120000Z",
                },
                {
                    "name": "credit_destination",
                    "status": "succeeded",
                    "at": "2026-11-24T09:00:00.140000Z",
                },
            ],
            "failure_code": None,
            "failure_reason": None,
            "created_at": "2026-11-24T09:00:00.100000Z",
            "updated_at": "2026-11-24T09:00:00.150000Z",
            "position": 57,
        },
        response_only=True,
        status_codes=[201],
    ),
]
