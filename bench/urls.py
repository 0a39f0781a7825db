"""The site's URLs, and the bench's peer of ``POST /api/transfers/`` beside them."""

from django.urls import include, path

from config import urls as site

urlpatterns = [*site.urlpatterns, path("bench/orm-transfers/", include("bench.orm.urls"))]

handler404 = site.handler404
handler500 = site.handler500
