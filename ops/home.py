"""The front doors: ``/``, a page for people (the admin's "view site" link leads here), and
``/api/``, the API's root, listing where each part of it lives (JSON, or the browsable API in a
browser)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import errors

# The API's parts, by the URL names of their first pages.
API_PARTS = {
    "docs": "docs",
    "schema": "schema",
    "token": "auth-token",
    "accounts": "accounts",
    "transfers": "transfers",
    "products": "products",
    "orders": "orders",
    "alerts": "alerts",
    "profile": "my-profile",
}


class HomePage(TemplateView):
    template_name = "ops/home.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(api=reverse("api-root"), **kwargs)


class ApiRoot(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="api_root",
        responses={
            200: inline_serializer("ApiRoot", {part: serializers.URLField() for part in API_PARTS}),
            **errors(401, 503),
        },
        auth=[],
        description="Where each part of the API lives: its docs, its schema, the token "
        "endpoint, and the first page of each resource.",
    )
    def get(self, request: Request) -> Response:
        return Response(
            {part: request.build_absolute_uri(reverse(name)) for part, name in API_PARTS.items()}
        )
