"""``GET /healthz``: 200 when every dependency answers, 503 naming what is down.

A check that depends on another (the stream needs NATS; lag needs the database and the event
stores) is reported ``unchecked`` while that one is down, so ``down`` names the cause only.

With a read replica, ``replica`` says whether it answers and how far behind it is
(``ops/replica.py``). It never makes the answer 503: while the standby is away its reads are
served by the primary, and the service is up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from nats.js.errors import NotFoundError

from api.exception_handlers import read_only
from config.container import get_container
from messaging.connection import connect, nats_url, ping
from ops.lag import sources, subscriber_lags, worst_by_subscriber
from ops.replica import replica_configured, replica_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    run: Callable[[], None]  # raises when what it checks is down
    needs: tuple[str, ...] = ()  # checks that must be ok for this one to mean anything


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _event_store(context: str) -> Callable[[], None]:
    def check() -> None:
        get_container().application(context).max_position()

    return check


def _nats() -> None:
    asyncio.run(ping(nats_url(), timeout=settings.NATS_CONNECT_TIMEOUT))


def _stream() -> None:
    asyncio.run(_stream_info(nats_url(), settings.NATS_STREAM))


async def _stream_info(url: str, stream: str) -> None:
    timeout = settings.NATS_CONNECT_TIMEOUT
    client = await connect(url, name="eventbank-healthz", daemon=False, timeout=timeout)
    try:
        await client.jetstream(timeout=timeout).stream_info(stream)
    except NotFoundError:
        raise RuntimeError(f"stream {stream} does not exist (manage.py setup_nats)") from None
    finally:
        await client.close()


def _subscriber_lag() -> None:
    bound = settings.MAX_SUBSCRIBER_LAG
    lagging = [
        f"{lag.subscriber} is {lag.lag} events behind {lag.source}"
        for lag in worst_by_subscriber(subscriber_lags(sources(get_container())[0])).values()
        if lag.lag > bound
    ]
    if lagging:
        raise RuntimeError(f"{'; '.join(lagging)} (bound {bound})")


def checks() -> dict[str, Check]:
    stores = tuple(f"{c}_events" for c in settings.EVENT_STORE_CONTEXTS)
    return {
        "database": Check(_database),
        **{f"{c}_events": Check(_event_store(c)) for c in settings.EVENT_STORE_CONTEXTS},
        "nats": Check(_nats),
        "stream": Check(_stream, needs=("nats",)),
        "subscriber_lag": Check(_subscriber_lag, needs=("database", *stores)),
    }


@read_only
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in checks().items():
        missing = [need for need in check.needs if results.get(need) != "ok"]
        if missing:
            results[name] = f"unchecked: needs {', '.join(missing)}"
            continue
        try:
            check.run()
            results[name] = "ok"
        except Exception as exc:  # a health check reports every failure, whatever it is
            logger.warning("healthz: %s is down: %s", name, exc)
            results[name] = f"down: {type(exc).__name__}: {exc}"[:1000]
    down = sorted(name for name, result in results.items() if result.startswith("down"))
    status = 503 if down else 200
    body: dict[str, object] = {**results, "down": down}
    if replica_configured():
        body["replica"] = replica_state().as_json()
    return JsonResponse(body, status=status)
