"""The one base of every context's errors: a business rule said no, under a stable code.

A context's errors derive from ``DomainError`` and know nothing of HTTP; the API decides the
status from the code alone (``api.exception_handlers``), so a new context needs no change there.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule said no. ``code`` is the stable snake_case name clients see (the error
    codes of ``docs/reference.md``); ``details`` names what the refusal concerns."""

    code = "domain_error"

    @property
    def details(self) -> dict[str, Any]:
        return {}
