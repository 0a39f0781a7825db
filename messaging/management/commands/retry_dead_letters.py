"""Re-process parked messages (all unresolved ones, or one by --id) once their cause is fixed.

A message is parked when its subscriber could not apply it after several attempts, or could not
decode it. Retrying applies it through the same handler; one that succeeds is marked resolved.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.dead_letters import retry, unresolved
from messaging.models import DeadLetter


class Command(BaseCommand):
    help = "Re-process dead letters (all unresolved, or --id ID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, dest="dead_letter_id")
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(self, *args: Any, dead_letter_id: int | None, dry_run: bool, **options: Any) -> None:
        letters = list(unresolved())
        if dead_letter_id is not None:
            letters = [d for d in letters if d.pk == dead_letter_id]
            if not letters and not DeadLetter.objects.filter(pk=dead_letter_id).exists():
                raise CommandError(f"no dead letter with id {dead_letter_id}")
        if dry_run:
            if options["verbosity"] >= 1:
                for letter in letters:
                    self.stdout.write(f"#{letter.pk} {letter}: {letter.error}")
            return
        outcomes = retry(letters)
        for outcome in outcomes:
            verdict = "resolved" if outcome.resolved else f"still failing: {outcome.error}"
            if options["verbosity"] >= 1:
                self.stdout.write(f"#{outcome.dead_letter}: {verdict}")
        if any(not o.resolved for o in outcomes):
            raise CommandError("some dead letters still fail")
