"""WSGI entry point: the app ``ops.web_server`` serves in each worker.

The URLconf, and with it every view and serializer, is imported here, as the worker starts,
rather than on its first request, which would otherwise wait for it after every start and
every respawn."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_chunked_bodies(app: WSGIApp) -> WSGIApp:
    """Django reads a request body only as far as its CONTENT_LENGTH, and a chunked request
    (``Transfer-Encoding: chunked``) has none: its body would be read as empty. A server that
    ends the stream after the last chunk says so (``wsgi.input_terminated``; granian does), so
    such a body is read here, to one byte past Django's upload limit, and handed on with its
    length (Django then refuses one that is too large, as for any body). Without that promise
    the body cannot be read safely, and the answer is 411 Length Required."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            if not environ.get("wsgi.input_terminated"):
                return _length_required(start_response)
            body = environ["wsgi.input"].read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return app(environ, start_response)

    return application


def _length_required(start_response: Callable[..., Any]) -> list[bytes]:
    body = json.dumps(
        {
            "code": "length_required",
            "message": "This server reads a request body only with a Content-Length.",
            "details": {},
        }
    ).encode()
    start_response(
        "411 Length Required",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


application = with_chunked_bodies(get_wsgi_application())
import_module(settings.ROOT_URLCONF)
