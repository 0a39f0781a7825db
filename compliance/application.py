"""The compliance context's application, on its own event store."""

from __future__ import annotations

from compliance.contract import COMPLIANCE_EVENTS
from kernel.application import EventSourcedApplication


class ComplianceApplication(EventSourcedApplication):
    name = "compliance"
    catalogue = COMPLIANCE_EVENTS
