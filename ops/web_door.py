"""The web server's door: granian speaks ASGI to it, and it hands each request on — a stream to
an async application, anything else to the WSGI application on a pool of threads, once the
request's body has arrived whole.

Why a door at all (docs/decisions/0008-asgi-door-for-live-updates.md): under granian's WSGI
interface every request holds one of a process's few threads from its first byte to its last,
so an open Server-Sent Events stream held one for hours, and a client that sends its body
slowly held one for as long as it liked (granian #728). Here the event loop does the waiting:
a stream never takes a thread, and a request reaches a thread only with its body in hand. A
body larger than the limit is refused with 413, and one that has not arrived within the
deadline with 408, each in the API's JSON error shape, and neither ever reaches a thread.

The threads are a2wsgi's ``WSGIMiddleware`` (one pool per process); the WSGI application sees a
body with its length, whether the client sent it with a ``Content-Length`` or in chunks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from a2wsgi import WSGIMiddleware

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[
    ..., Awaitable[None]
]  # (scope, receive, send); Django's handler is typed loosely
WSGIApp = Callable[..., Any]
Hook = Callable[[], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request's body is (or says it will be) larger than the limit."""


class ClientGone(Exception):
    """The client went away before its body had arrived."""


class WebDoor:
    """The ASGI application granian serves in each worker (``config.asgi`` builds it).

    ``streams`` maps a path prefix to the async application that serves it (Django's ASGI
    handler for ``/api/live/``); ``on_shutdown`` runs when the worker stops (lifespan)."""

    def __init__(
        self,
        wsgi: WSGIApp,
        *,
        threads: int,
        max_body: int,
        body_timeout: float,
        streams: Mapping[str, ASGIApp] | None = None,
        on_shutdown: Sequence[Hook] = (),
    ) -> None:
        self.wsgi: ASGIApp = WSGIMiddleware(wsgi, workers=threads)
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.streams = dict(streams or {})
        self.on_shutdown = list(on_shutdown)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets are off (ops/web_server.py)
            return
        for prefix, app in self.streams.items():
            if scope["path"].startswith(prefix):
                await app(scope, receive, send)
                return
        try:
            body = await asyncio.wait_for(self.read_body(scope, receive), self.body_timeout)
        except TimeoutError:
            message = f"The request body did not arrive within {self.body_timeout:g} s."
            await send_all(send, refusal(408, "body_too_slow", message))
            return
        except BodyTooLarge:
            message = f"The request body is larger than {self.max_body} bytes."
            await send_all(send, refusal(413, "body_too_large", message))
            return
        except ClientGone:
            return
        await self.wsgi(with_length(scope, len(body)), replay(body), send)

    async def read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole body, refused as soon as it passes the limit (or says it will)."""
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise BodyTooLarge
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            body += message.get("body", b"")
            if len(body) > self.max_body:
                raise BodyTooLarge
            if not message.get("more_body", False):
                return bytes(body)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.on_shutdown:
                    try:
                        await hook()
                    except Exception:  # one hook's failure must not keep the others from running
                        logger.exception("a shutdown hook failed")
                await send({"type": "lifespan.shutdown.complete"})
                return


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def with_length(scope: Scope, length: int) -> Scope:
    """The scope with the body's length as its ``Content-Length``: a chunked body has none, and
    the WSGI application reads a body only as far as that header says (``config.wsgi``)."""
    if header(scope, b"content-length") is not None:
        return scope
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"transfer-encoding"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def replay(body: bytes) -> Receive:
    """A ``receive`` that gives the body already read, at once (a2wsgi never asks again once
    the body is over; if it did, it would hear that there is nothing more)."""
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> Message:
        return next(messages, {"type": "http.disconnect"})

    return receive


def refusal(status: int, code: str, message: str) -> list[Message]:
    """An answer in the API's error shape (``api.exception_handlers.error_body``), for a request
    no application saw; the connection then closes, the rest of its body unread."""
    body = json.dumps({"code": code, "message": message, "details": {}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


async def send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)
