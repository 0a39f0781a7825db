"""Forgetting a customer, for the API and the ``forget_customer`` command alike.

The customers application destroys the data key and records ``customer.forgotten``; Django's
user then loses its login and what it held of the person. Every step is idempotent, so a
forgetting cut short anywhere is finished by forgetting again, and a repeat answers the same.
The ledger hears of it from the published event, and retires the accounts
(``ledger/subscribers.py``).
"""

from __future__ import annotations

from api.users import customer_exists, retire_customer
from config.container import get_container
from customers.domain import CustomerNotFound, Profile, profile_id


def customer_named(username: str) -> str:
    """``username`` if it names a customer (a user who is not staff); otherwise not found."""
    if not customer_exists(username):
        raise CustomerNotFound(f"No customer named {username}.")
    return username


def forget_customer(username: str) -> Profile:
    """Forget the customer; its profile afterwards (forgotten, every personal field erased)."""
    return _forget(customer_named(username))


def _forget(username: str) -> Profile:
    profile = get_container().customers.forget(username)
    retire_customer(username)
    return profile


def profile_of(username: str) -> Profile | None:
    """The customer's profile as it stands (None if it never had one), for a dry run."""
    return get_container().customers.find(profile_id(customer_named(username)), Profile)


def forget_again_all(*, dry_run: bool = False) -> list[str]:
    """Forget again every customer the event store records as forgotten: Django's database
    restored from a backup brings back the keys of those forgotten since it was taken. The
    customers, in the order they were first forgotten."""
    customers = get_container().customers.forgotten_customers()
    if not dry_run:
        for username in customers:
            _forget(username)  # whether or not Django still has the user
    return customers
