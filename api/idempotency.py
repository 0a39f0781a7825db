"""``Idempotency-Key``: the same key and body again returns the first answer, and does nothing.

Two mechanisms, each doing what it is good at:

1. The key decides the *operation id* (``uuid5`` of user and key). Operations are idempotent
   by that id — an account opened with it exists once, a deposit with it is applied once, a
   transfer with it is one saga — so however many requests race with one key, and whatever
   crashed in between, there is exactly one effect.
2. A row per (user, key) keeps the request's fingerprint (so the same key with another body is
   422) and the first response (so a retry gets the same status and body, byte for byte).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import ApiError, IdempotencyConflict
from api.exception_handlers import error_response
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Printable ASCII: an HTTP header carries bytes, which a server decodes as Latin-1, so anything
# else would be stored as a different key than the client meant.
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
KEY_TEXT = re.compile(KEY_PATTERN)
_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/idempotency-keys")
# Answers worth replaying: the operation ran (a success, or a business rule's "no").
_REPLAYABLE = frozenset({200, 201, 409})

Operation = Callable[[UUID], Response]


def run_idempotently(
    request: Request, operation: Operation, *, fingerprint: str | None = None
) -> Response:
    """Run ``operation(operation_id)`` at most once per (user, Idempotency-Key).

    The request is told apart from another by its ``fingerprint``: by default its method, path
    and body (``fingerprint_of``); a GraphQL mutation gives its own, since one request may carry
    several."""
    key = request.headers.get(HEADER)
    if key is None:
        return operation(uuid4())
    if not KEY_TEXT.fullmatch(key):
        raise ApiError(
            400,
            "invalid",
            f"{HEADER} must be 1 to 255 printable ASCII characters, neither starting nor ending "
            "with a space.",
        )
    user_id = request.user.pk
    assert user_id is not None, "idempotency keys belong to authenticated users"
    if fingerprint is None:
        fingerprint = fingerprint_of(request.method or "", request.path, request.data)
    record = _claim(user_id, key, fingerprint)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    if record.completed_at is not None:
        response = Response(record.response, status=record.status_code)
        response["Idempotent-Replayed"] = "true"
        return response

    operation_id = uuid5(_NAMESPACE, f"{user_id}:{key}")
    try:
        response = operation(operation_id)
    except Exception as exc:
        refusal = error_response(exc)
        if refusal is None or refusal.status_code not in _REPLAYABLE:
            # Invalid input, or an outage: nothing happened, or it can safely happen again.
            _release_unless_replayable(record, refusal)
            raise
        response = refusal
    if response.status_code in _REPLAYABLE:
        IdempotencyRecord.objects.filter(pk=record.pk, completed_at__isnull=True).update(
            status_code=response.status_code,
            response=response.data,
            completed_at=timezone.now(),
        )
    else:
        _release_unless_replayable(record, response)
    return response


def _claim(user_id: int, key: str, fingerprint: str) -> IdempotencyRecord:
    try:
        with transaction.atomic():
            record, _ = IdempotencyRecord.objects.get_or_create(
                user_id=user_id, key=key, defaults={"fingerprint": fingerprint}
            )
    except IntegrityError:  # a concurrent twin inserted it first
        record = IdempotencyRecord.objects.get(user_id=user_id, key=key)
    return record


def _release_unless_replayable(record: IdempotencyRecord, response: Response | None) -> None:
    """A 400 or a 503 leaves the key free for a corrected or retried request."""
    if response is not None and 400 <= response.status_code < 500:
        IdempotencyRecord.objects.filter(pk=record.pk, completed_at__isnull=True).delete()


def fingerprint_of(method: str, path: str, body: Any) -> str:
    """What makes two requests with one key the same request: method, path and body."""
    text = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    payload = f"{method} {path}\n{text}"
    return hashlib.sha256(payload.encode()).hexdigest()
