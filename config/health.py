"""``GET /healthz``: 200 when every dependency answers, 503 naming what is down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.container import get_container
from messaging.connection import ping

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _event_store(context: str) -> Callable[[], None]:
    def check() -> None:
        get_container().applications[context].max_position()

    return check


def _nats() -> None:
    if not settings.NATS_URL:
        raise RuntimeError("NATS_URL is not set")
    asyncio.run(ping(settings.NATS_URL, timeout=settings.NATS_CONNECT_TIMEOUT))


def checks() -> dict[str, Callable[[], None]]:
    return {
        "database": _database,
        **{f"{c}_events": _event_store(c) for c in settings.EVENT_STORE_CONTEXTS},
        "nats": _nats,
    }


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a health check reports every failure, whatever it is
            logger.warning("healthz: %s is down: %s", name, exc)
            results[name] = f"down: {type(exc).__name__}: {exc}"[:300]
    down = sorted(name for name, result in results.items() if result != "ok")
    status = 503 if down else 200
    return JsonResponse({**results, "down": down}, status=status)
