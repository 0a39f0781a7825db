"""Forget a customer: crypto-shred its personal data, for a request to be forgotten.

The customer's data key is destroyed, so every copy of its sealed profile — in the event
store, the stream, the projections — reads as erased from then on; its login is disabled; and
``customer.forgotten`` tells the ledger to close the empty accounts and freeze those holding
money. The money history stays. ``--all-forgotten`` forgets again everyone the event store
records as forgotten: after Django's database (the key table) was restored from a backup older
than some forgettings, whose keys it brought back. The work is ``customers.forgetting``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.domain import CustomerNotFound
from customers.forgetting import forget_again_all, forget_customer, profile_of


class Command(BaseCommand):
    help = "Forget a customer: destroy its data key (its personal data reads as erased)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument(
            "--all-forgotten",
            action="store_true",
            help="forget again everyone recorded as forgotten (after restoring a backup)",
        )
        parser.add_argument("--dry-run", action="store_true", help="say what it would do")

    def handle(self, *args: Any, username: str | None, **options: Any) -> None:
        if (username is None) == (not options["all_forgotten"]):
            raise CommandError("Name one customer, or give --all-forgotten.")
        if options["all_forgotten"]:
            lines = self.forget_again(options["dry_run"])
        else:
            assert username is not None
            try:
                lines = [self.preview(username) if options["dry_run"] else self.forget(username)]
            except CustomerNotFound as exc:
                raise CommandError(str(exc)) from None
        if options["verbosity"] >= 1:
            self.stdout.write("\n".join(lines))

    @staticmethod
    def forget(username: str) -> str:
        profile = forget_customer(username)
        return (
            f"{username}: forgotten at {profile.forgotten_at:%Y-%m-%d %H:%M:%S} UTC; personal "
            "data erased, login disabled; the ledger closes or freezes the accounts when it "
            "applies customer.forgotten"
        )

    @staticmethod
    def preview(username: str) -> str:
        profile = profile_of(username)
        if profile is not None and profile.forgotten:
            return f"{username}: forgotten already, at {profile.forgotten_at:%Y-%m-%d %H:%M:%S} UTC"
        has = "no profile" if profile is None else f"a profile (version {profile.version})"
        return (
            f"{username}: {has}; would destroy its data key, disable its login, and publish "
            "customer.forgotten (the ledger then closes or freezes its accounts)"
        )

    @staticmethod
    def forget_again(dry_run: bool) -> list[str]:
        customers = forget_again_all(dry_run=dry_run)
        verb = "would forget again" if dry_run else "forgotten again"
        return [f"{verb}: {name}" for name in customers] + [f"{len(customers)} customers"]
