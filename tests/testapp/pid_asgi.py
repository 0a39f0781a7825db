"""The pid app (``pid_wsgi``) behind the web server's door, as ``config.asgi`` puts Django's
WSGI application there: for tests of the web server itself, without Django. The body deadline
is ``EVENTBANK_REQUEST_BODY_TIMEOUT``'s, the body limit 1,000 bytes."""

from __future__ import annotations

import os

from ops.web_door import WebDoor
from ops.web_server import THREADS
from tests.testapp.pid_wsgi import application as pid_wsgi

MAX_BODY = 1_000

application = WebDoor(
    pid_wsgi,
    threads=THREADS,
    max_body=MAX_BODY,
    body_timeout=float(os.environ.get("EVENTBANK_REQUEST_BODY_TIMEOUT", "10")),
)
