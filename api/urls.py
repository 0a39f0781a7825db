from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.auth import TokenApi

# The schema and its docs page are read, never written; DRF's OPTIONS answer would try to
# render its metadata as the docs page.
READ_ONLY = {"http_method_names": ["get", "head"]}

urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(**READ_ONLY), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", **READ_ONLY), name="docs"),
    path("", include("ledger.urls")),
]
