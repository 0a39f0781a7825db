"""The site's URLs: the front page, the admin, the REST API under /api/, its live updates at
/api/live/ (and a page that shows them at /live/), GraphQL at /graphql, the health check and the
metrics."""

from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from api.graphql import GraphQLView
from api.live import LivePage, live_stream
from config import live
from config.graphql import schema
from ops.health import healthz
from ops.home import ApiRoot, HomePage
from ops.metrics import metrics

urlpatterns = [
    path("", HomePage.as_view(), name="home"),
    path("admin/", admin.site.urls),
    path("api/", ApiRoot.as_view(), name="api-root"),
    # Served by Django's ASGI handler, on the event loop (config/asgi.py): a stream holds no thread.
    path(
        "api/live/",
        live_stream(hub=live.hub, sources=live.SOURCES, event_types=live.EVENT_TYPES),
        name="live",
    ),
    path("live/", LivePage.as_view(event_types=live.EVENT_TYPES), name="live-page"),
    path("api/", include("api.urls")),
    path("api/", include("orders.urls")),
    path("api/compliance/", include("compliance.urls")),
    path("api/", include("customers.urls")),
    path("api-auth/", include("api.browsable_urls")),
    # The view checks CSRF itself, as DRF does: for a session's POSTs, never a token's.
    path("graphql", csrf_exempt(GraphQLView.as_view(schema=schema)), name="graphql"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]

# Errors Django answers itself: the JSON error body under /api/, /healthz and /metrics.
handler404 = "api.exception_handlers.page_not_found"
handler500 = "api.exception_handlers.server_error"
