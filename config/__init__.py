"""The composition root: settings, URLs, WSGI/ASGI, and the one place that builds applications."""
