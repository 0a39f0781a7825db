"""Page-number pagination: ``{"count", "next", "previous", "results"}``, and list-view helpers.

Query parameters are taken as the schema gives them: each at most once and with a value (DRF
reads a query string as an HTML form, where an empty field means "absent" and the last of
repeated ones wins), and numbers as ASCII digits within their bounds, never adjusted silently.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.db.models import QuerySet
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from api.serializers import LARGEST_POSITION, WholeNumberField, render_many

MAX_PAGE_SIZE = 500


class PageParameters(serializers.Serializer):
    page = WholeNumberField(
        required=False, min_value=1, max_value=LARGEST_POSITION, help_text="1 when omitted"
    )
    page_size = WholeNumberField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        help_text=f"{api_settings.PAGE_SIZE} when omitted",
    )


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()  # a page is a number, as the schema says

    def get_page_size(self, request: Request) -> int:
        # Called first by paginate_queryset: both parameters are checked here, once.
        self.parameters = query_filters(request, PageParameters)
        return cast(int, self.parameters.get("page_size", api_settings.PAGE_SIZE))

    def get_page_number(self, request: Request, paginator: Any) -> int:
        return cast(int, self.parameters.get("page", 1))


def query_filters(
    request: Request, serializer_class: type[serializers.Serializer]
) -> dict[str, Any]:
    """The validated query parameters ``serializer_class`` declares, or a 400 ``invalid``
    naming the bad ones (an empty or a repeated one among them)."""
    params: QueryDict = request.query_params
    declared = _declared(serializer_class)
    repeated = {
        name: ["Given more than once."]
        for name, values in params.lists()
        if name in declared and len(values) > 1
    }
    if repeated:
        raise serializers.ValidationError(repeated)
    serializer = serializer_class(data={name: params[name] for name in declared if name in params})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@cache
def _declared(serializer_class: type[serializers.Serializer]) -> frozenset[str]:
    return frozenset(serializer_class().fields)


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
