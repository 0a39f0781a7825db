"""Who a request is, and what it may see: a user authenticated by the REST API's own classes
(a token, or a session) wherever a view is not DRF's; staff see everything, a customer what it
owns (anything else is "not found" to it, so an id reveals nothing)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.settings import api_settings

from api.parsers import ExactJSONParser


def may_see(request: Request, owner: str) -> bool:
    return bool(request.user.is_staff or owner == request.user.get_username())


class IsCustomer(IsAuthenticated):
    """For what only a customer has (a profile): staff are refused, with where to look."""

    message = "Only customers have a profile of their own; staff read a customer's at its URL."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and not request.user.is_staff


def authenticated(request: HttpRequest) -> Request:
    """The request as a REST view sees it, its user authenticated by the REST API's classes:
    a token, or a session (whose POSTs must carry the CSRF token, as DRF checks it). Anyone
    else is ``not_authenticated``. For views that are not DRF's (GraphQL, live updates)."""
    # Read (within the body limit) and kept now, so that DRF's CSRF check and the view can
    # both read it.
    request.body  # noqa: B018
    api_request = Request(
        request,
        parsers=[ExactJSONParser()],
        authenticators=[
            auth() for auth in drf_classes(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
        ],
    )
    if not api_request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return api_request


def drf_classes(names: Any) -> list[type[Any]]:
    """DRF's setting of classes, which it has imported (its stubs type them as their names)."""
    return list(names)
