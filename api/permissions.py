"""Who may see what: staff everything, a customer what it owns (anything else is "not found"
to it, so an id reveals nothing)."""

from __future__ import annotations

from rest_framework.request import Request


def may_see(request: Request, owner: str) -> bool:
    return bool(request.user.is_staff or owner == request.user.get_username())
