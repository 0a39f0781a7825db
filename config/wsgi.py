"""WSGI entry point: the app ``config.web_server`` serves in each worker.

The URLconf, and with it every view and serializer, is imported here, as the worker starts,
rather than on its first request: that import takes about 0.3 s on the 2-core development
machine, which a user would otherwise wait through after every start and every respawn."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
import_module(settings.ROOT_URLCONF)
