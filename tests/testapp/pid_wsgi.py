"""A WSGI app for tests of the web server itself: it answers with the serving worker's process
id, after a pause of ``?sleep=<seconds>``."""

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
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
