"""``GET /api/live/``: the stream's events a user may see, as Server-Sent Events, as JetStream
delivers them (``messaging.live``); and ``GET /live/``, a page that shows them.

The wire (docs/reference.md, "Live updates"): ``retry:`` once, then for each event ``id:`` (its
stream sequence), ``event:`` (its type) and ``data:`` (its envelope, one line of JSON), and a
blank line; a comment, ``: heartbeat``, after ``LIVE_HEARTBEAT_SECONDS`` of quiet. A
``Last-Event-ID`` (the header EventSource sends when it reconnects, or ``?last_event_id=``;
the header wins) resumes exactly after that sequence. One the stream no longer holds is
answered first with ``event: reset``, whose ``data`` names the first sequence held, and its
``id`` the one before, and the stream goes on from there.

Everything is decided before the first byte, each refusal in the API's error shape: who asks
(the REST API's authentication, once), what it asks for (400 ``invalid``), room for the stream
(429 ``throttled`` past the per-user or per-process limit) and NATS (503 ``unavailable``). The
stream then runs on the worker's event loop and holds no thread (``config/asgi.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView
from prometheus_client import Gauge
from rest_framework import exceptions, serializers

from api.exception_handlers import error_body, error_response, json_error
from api.permissions import authenticated
from api.serializers import LARGEST_POSITION, WholeNumberField, serialization
from messaging.live import Hub, HubUnavailable, Listener, LiveEvent, TooManyStreams

RETRY_MILLISECONDS = 2_000  # how long EventSource waits before it reconnects
LAST_EVENT_ID = re.compile(r"[0-9]{1,19}")

# Unregistered, as api.middleware.REQUESTS: /metrics sums every live worker's (ops/metrics.py).
STREAMS = Gauge(
    "eventbank_live_streams",
    "Live update streams open now (GET /api/live/)",
    registry=None,
    multiprocess_mode="livesum",
)


class LiveQuery(serializers.Serializer):
    # Named as the query's parameters are; a field's own ``source`` attribute is another thing.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, max_length=20, help_text="a context"
    )
    type = serializers.CharField(
        required=False, max_length=100, help_text='an event type, or a prefix like "transfer."'
    )
    last_event_id = WholeNumberField(required=False, min_value=0, max_value=LARGEST_POSITION)


@dataclass(frozen=True)
class Interest:
    """What one stream shows: whose events (None: everyone's, for staff), from which source,
    of which type (a type, or a prefix of types ending in ".")."""

    username: str | None
    source: str | None = None
    type: str | None = None

    def accepts(self, event: LiveEvent) -> bool:
        if self.username is not None and self.username not in event.owners:
            return False
        if self.source is not None and event.source != self.source:
            return False
        if self.type is None:
            return True
        return event.type == self.type or (
            self.type.endswith(".") and event.type.startswith(self.type)
        )


def live_stream(
    *, hub: Callable[[], Hub], sources: Collection[str], event_types: Collection[str]
) -> Callable[[HttpRequest], Any]:
    """The view of ``GET /api/live/``, for this process's ``hub`` and the sources and event
    types a filter may name (``config/urls.py`` gives them: this layer knows no context)."""

    @csrf_exempt  # it only reads; any other method is refused by the view itself
    async def live(request: HttpRequest) -> HttpResponseBase:
        if request.method != "GET":
            message = f'Method "{request.method}" not allowed.'
            return json_error(405, "method_not_allowed", message, {"Allow": "GET"})
        try:
            user = await sync_to_async(signed_in)(request)
            interest, resume = read_query(request, user, sources, event_types)
            if not isinstance(request, ASGIRequest):
                raise HubUnavailable("Live updates need the ASGI server (ops.web_server).")
            this_hub = hub()
            listener = Listener(
                user.get_username(),
                interest.accepts,
                settings.LIVE_QUEUE,
                everyone=interest.username is None,
            )
            last = await this_hub.join(listener)
        except TooManyStreams as exc:
            return refused(exceptions.Throttled(wait=RETRY_MILLISECONDS / 1000, detail=str(exc)))
        except HubUnavailable as exc:
            body = error_body("unavailable", f"Live updates are unavailable: {exc}")
            return JsonResponse(body, status=503, headers={"Retry-After": "1"})
        except Exception as exc:
            return refused(exc)
        stream = events(this_hub, listener, last, resume, settings.LIVE_HEARTBEAT_SECONDS)
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # a proxy (nginx) passes each event on at once
        return response

    return live


def signed_in(request: HttpRequest) -> Any:
    """The user, authenticated once as the REST API does it. The database connection that took
    is closed at once (unless a test's transaction holds it): a stream lives for hours, and
    every open one would otherwise keep a connection idle."""
    try:
        return authenticated(request).user
    finally:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()


def read_query(
    request: HttpRequest, user: Any, sources: Collection[str], event_types: Collection[str]
) -> tuple[Interest, int | None]:
    """What the stream is to show, and the sequence to resume after (None: from now on)."""
    unknown = sorted(set(request.GET) - set(LiveQuery().fields))
    if unknown:
        raise exceptions.ValidationError({name: ["Unknown parameter."] for name in unknown})
    query = serialization().validate(LiveQuery, request.GET.dict())
    source, event_type = query.get("source"), query.get("type")
    if source is not None and source not in sources:
        raise exceptions.ValidationError({"source": [f"One of {', '.join(sorted(sources))}."]})
    if event_type is not None and not any(
        name == event_type or (event_type.endswith(".") and name.startswith(event_type))
        for name in event_types
    ):
        raise exceptions.ValidationError({"type": ["No event type is or starts with this."]})
    header = request.headers.get("Last-Event-ID")
    if header is not None and not LAST_EVENT_ID.fullmatch(header.strip()):
        raise exceptions.ValidationError({"Last-Event-ID": ["A stream sequence: digits only."]})
    resume = int(header) if header is not None else query.get("last_event_id")
    if resume is not None and resume > LARGEST_POSITION:
        raise exceptions.ValidationError({"Last-Event-ID": ["Too large."]})
    username = None if user.is_staff else user.get_username()
    return Interest(username, source, event_type), resume


def refused(exc: Exception) -> JsonResponse:
    """The API's answer to ``exc``, before the stream began (a crash is raised: a 500)."""
    refusal = error_response(exc)
    if refusal is None:
        raise exc
    response = JsonResponse(refusal.data, status=refusal.status_code)
    if "Retry-After" in refusal.headers:
        response["Retry-After"] = refusal.headers["Retry-After"]
    if refusal.status_code == 401:
        response["WWW-Authenticate"] = "Token"  # as DRF answers: the scheme it takes
    return response


async def events(
    hub: Hub, listener: Listener, last: int, resume: int | None, heartbeat: float
) -> AsyncIterator[bytes]:
    """The stream: what came after ``resume`` up to ``last`` (read from the stream), then what
    the hub hands the listener. A client that goes away cancels the task writing it out
    (Django's ASGI handler does), and the listener leaves the hub."""
    forgotten = False

    def forget(*_: object) -> None:
        nonlocal forgotten
        if not forgotten:
            forgotten = True
            hub.leave(listener)
            STREAMS.dec()

    STREAMS.inc()
    # The task that writes the stream out ends with it, whether it ends here or is cancelled
    # while a write waits; when it is, Django closes this generator only once it is collected.
    listener.task = asyncio.current_task()
    if listener.task is not None:
        listener.task.add_done_callback(forget)
    try:
        yield b"retry: %d\n\n" % RETRY_MILLISECONDS
        after = last if resume is None else resume
        if resume is not None:
            first, held_last = await hub.held()
            if resume > held_last or resume + 1 < first:
                after = max(first, 1) - 1
                yield reset_frame(after)
            async for batch in hub.catch_up(after, last):
                frames = [event.frame for event in batch if listener.accepts(event)]
                if frames:
                    yield b"".join(frames)
        while True:
            waiting = await listener.next_events(heartbeat)
            if listener.ended:
                yield b": %s\n\n" % listener.ended.encode()
                return
            # The hub hands out only what came after `last`; a stream resumed beyond it (its
            # client was served by a hub further on) skips what it has had.
            frames = [event.frame for event in waiting if event.sequence > after]
            yield b"".join(frames) if frames else b": heartbeat\n\n"
    finally:
        forget()


def reset_frame(after: int) -> bytes:
    """``event: reset``: the stream no longer holds what was asked for; it goes on after
    ``after``, whose next sequence is the first held (its ``id`` resumes there)."""
    data = json.dumps({"first_sequence": after + 1}).encode()
    return b"id: %d\nevent: reset\ndata: %s\n\n" % (after, data)


class LivePage(LoginRequiredMixin, TemplateView):
    """``GET /live/``: the signed-in user's accounts, transfers and orders as they happen
    (``api/static/live/live.js`` listens to ``/api/live/`` with EventSource). Every asset is
    the site's own: it works offline."""

    template_name = "live/page.html"
    login_url = "/api-auth/login/"
    event_types: Collection[str] = ()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "event_types": sorted(self.event_types)}
