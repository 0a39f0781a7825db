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
            "available": "0.00",
            "held": "0.00",
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

THIRD_ACCOUNT_ID = "9c3e7a12-5d41-4f0b-b8e2-7a6d1c4e2f90"

TRANSFER_BATCH_EXAMPLES = [
    OpenApiExample(
        "a batch",
        {
            "transfers": [
                {"from_account": ACCOUNT_ID, "to_account": OTHER_ACCOUNT_ID, "amount": "25.00"},
                {
                    "from_account": ACCOUNT_ID,
                    "to_account": THIRD_ACCOUNT_ID,
                    "amount": "900.00",
                    "reference": "invoice 1043",
                },
            ],
            "linked": False,
        },
        request_only=True,
    ),
    OpenApiExample(
        "each transfer on its own",
        {
            "id": "5f0c2a3e-7b8d-5e41-9a6f-0c1d2e3f4a5b",
            "linked": False,
            "transfers": [
                {"id": "1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d", "status": "completed"},
                {
                    "id": "2b3c4d5e-6f7a-5b8c-9d0e-1f2a3b4c5d6e",
                    "status": "failed",
                    "code": "insufficient_funds",
                },
            ],
            "position": 61,
        },
        response_only=True,
        status_codes=[201],
    ),
    OpenApiExample(
        "linked: all or nothing",
        {
            "id": "6a1d3b4f-8c9e-5f52-ab70-1d2e3f4a5b6c",
            "linked": True,
            "transfers": [
                {
                    "id": "3c4d5e6f-7a8b-5c9d-8e1f-2a3b4c5d6e7f",
                    "status": "failed",
                    "code": "linked_event_failed",
                },
                {
                    "id": "4d5e6f7a-8b9c-5d0e-9f2a-3b4c5d6e7f8a",
                    "status": "failed",
                    "code": "insufficient_funds",
                },
            ],
            "position": 64,
        },
        response_only=True,
        status_codes=[201],
    ),
]

HOLD_EXAMPLES = [
    OpenApiExample(
        "a hold for a week",
        {
            "from_account": ACCOUNT_ID,
            "to_account": OTHER_ACCOUNT_ID,
            "amount": "80.00",
            "reference": "hotel deposit",
        },
        request_only=True,
    ),
    OpenApiExample(
        "a hold for an hour",
        {
            "from_account": ACCOUNT_ID,
            "to_account": OTHER_ACCOUNT_ID,
            "amount": "12.50",
            "expires_in": 3600,
        },
        request_only=True,
    ),
    OpenApiExample(
        "pending",
        {
            "id": "2c8f5d0a-6d7e-4f1b-9c3a-5b8e1d2f4a60",
            "status": "pending",
            "from_account": ACCOUNT_ID,
            "to_account": OTHER_ACCOUNT_ID,
            "amount": "80.00",
            "captured": None,
            "currency": "EUR",
            "reference": "hotel deposit",
            "expires_at": "2026-12-14T09:00:00.100000Z",
            "created_at": "2026-12-07T09:00:00.100000Z",
            "updated_at": "2026-12-07T09:00:00.100000Z",
            "position": 61,
        },
        response_only=True,
        status_codes=[201],
    ),
]
