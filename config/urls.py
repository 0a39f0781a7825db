"""The site's URLs: the admin, the REST API under /api/, and the health check."""

from django.contrib import admin
from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("api/", include("orders.urls")),
    path("api/compliance/", include("compliance.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", healthz, name="healthz"),
]
