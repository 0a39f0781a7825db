"""The events the compliance context publishes (see ``kernel.events``).

``compliance.alert.resolved`` carries the decision (``cleared`` or ``escalated``) and the
account, so the ledger can freeze an escalated account from the event alone.
"""

from __future__ import annotations

from compliance.domain import Alert
from kernel.events import EventCatalogue, published

COMPLIANCE_EVENTS = EventCatalogue(
    "compliance",
    {
        Alert.Raised: published("compliance.alert.raised", "amount"),
        Alert.Resolved: published("compliance.alert.resolved"),
    },
)
