"""A WSGI app for tests of the web server itself: it answers with the serving worker's process
id, after a pause of ``?sleep=<seconds>``; to a request with a body, which it reads as Django
does (as far as its Content-Length), with the body's length after the id."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    pause = parse_qs(environ.get("QUERY_STRING", "")).get("sleep", ["0"])[0]
    time.sleep(float(pause))
    body = str(os.getpid()).encode()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        body += b" %d" % len(environ["wsgi.input"].read(length))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
