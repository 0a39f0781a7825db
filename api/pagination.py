"""Page-number pagination: ``{"count", "next", "previous", "results"}``, and list-view helpers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import render_many


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def query_filters(
    request: Request, serializer_class: type[serializers.Serializer]
) -> dict[str, Any]:
    """The validated query parameters, or a 400 ``invalid`` naming the bad ones."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def paginated(
    request: Request,
    view: APIView,
    rows: QuerySet[Any],
    serializer_class: type[serializers.Serializer],
) -> Response:
    """One page of ``rows``, rendered by ``serializer_class``."""
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(render_many(serializer_class, page or ()))
