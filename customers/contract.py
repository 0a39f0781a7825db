"""The events the customers context publishes (see ``kernel.events``).

No personal data travels in clear: ``customer.profile_updated`` carries each personal field
sealed (base64 ciphertext, ``null`` for a field left empty) and the id of the key that sealed
it. A subscriber on NATS cannot open them without the key table, which never leaves Django's
database; ``customer.forgotten`` says that the key is gone, and names the customer by username.
"""

from __future__ import annotations

from customers.domain import Profile
from kernel.events import EventCatalogue, published

PROFILE_UPDATED = "customer.profile_updated"

CUSTOMERS_EVENTS = EventCatalogue(
    "customers",
    {
        Profile.Created: published("customer.profile_created"),
        Profile.Updated: published(PROFILE_UPDATED),
        Profile.Forgotten: published("customer.forgotten"),
    },
)
