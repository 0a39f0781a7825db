"""Errors the API layer itself raises, in the one error shape (docs/reference.md, "Errors")."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer that is not a success: status, a stable snake_case code, a message, details."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class IdempotencyConflict(ApiError):
    def __init__(self) -> None:
        super().__init__(
            422,
            "idempotency_conflict",
            "This Idempotency-Key was used with a different request.",
        )
