"""Who may see what: staff everything, a customer what it owns (anything else is "not found"
to it, so an id reveals nothing)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request


def may_see(request: Request, owner: str) -> bool:
    return bool(request.user.is_staff or owner == request.user.get_username())


class IsCustomer(IsAuthenticated):
    """For what only a customer has (a profile): staff are refused, with where to look."""

    message = "Only customers have a profile of their own; staff read a customer's at its URL."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and not request.user.is_staff
