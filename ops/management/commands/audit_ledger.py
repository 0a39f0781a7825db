"""Check that the books balance, in the event store and in the projections.

Double entry makes every movement two legs that cancel out, so for each currency the balances
of all accounts sum to zero; a hold's money is set aside on one side exactly as it is promised on
the other. This is the check an operator runs after an incident, or a scheduler nightly: it
reads the whole ledger log, so it is not for every request.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.container import get_container
from ops.audit import audit


class Command(BaseCommand):
    help = (
        "Check that the books balance: per currency every account's posted balance sums to zero, "
        "held equals promised, each hold ended once, and the projections agree with the store. "
        "Exits non-zero naming the first discrepancy."
    )

    def handle(self, *args: Any, verbosity: int, **options: Any) -> None:
        result = audit(get_container().ledger)
        if verbosity >= 1:
            for books in result.balances:
                self.stdout.write("\n".join(books.lines()))
        if not result.balanced:
            more = len(result.discrepancies) - 1
            also = f" (and {more} more)" if more else ""
            raise CommandError(f"the books do not balance: {result.discrepancies[0]}{also}")
        if verbosity >= 1:
            self.stdout.write("the books balance")
