"""ASGI entry point: the app ``ops.web_server`` serves in each worker (granian's ASGI interface).

``/api/live/`` goes to Django's ASGI handler, whose async view streams on the worker's event loop;
every other request goes to Django's WSGI application (``config.wsgi``) on ``WEB_THREADS`` threads,
once its body has arrived whole (``ops.web_door.WebDoor``; why: docs/decisions/0008). Stopping,
the worker closes its live hub. One server, one port, one origin for both.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

streams = get_asgi_application()  # sets Django up, before anything below reads the settings

from django.conf import settings  # noqa: E402

from config.live import stop_hub  # noqa: E402
from config.wsgi import application as wsgi_application  # noqa: E402
from ops.web_door import WebDoor  # noqa: E402

application = WebDoor(
    wsgi_application,
    threads=settings.WEB_THREADS,
    max_body=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    body_timeout=settings.REQUEST_BODY_TIMEOUT_SECONDS,
    streams={"/api/live/": streams},
    on_shutdown=[stop_hub],
)
