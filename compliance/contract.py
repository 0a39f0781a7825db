"""The events the compliance context publishes (see ``kernel.events``)."""

from __future__ import annotations

from kernel.events import EventCatalogue

COMPLIANCE_EVENTS = EventCatalogue("compliance", {})
