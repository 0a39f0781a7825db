"""Who each event the customers context publishes concerns, for live updates (``GET /api/live/``):
the customer whose profile it is. Every event names its customer, so no store is read; what a
profile event carries of personal data is sealed (``customers/contract.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def owners(envelope: Mapping[str, Any]) -> frozenset[str]:
    customer = (envelope.get("data") or {}).get("customer")
    return frozenset({customer}) if isinstance(customer, str) else frozenset()
