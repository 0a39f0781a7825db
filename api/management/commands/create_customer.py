"""Create an API user who is a customer: not staff, sees and moves only its own accounts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.users import CustomerRefused, create_customer


class Command(BaseCommand):
    help = "Create a customer (a non-staff API user) and print its API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, username: str, password: str, email: str, **options: Any) -> None:
        try:
            _, token = create_customer(username, password, email)
        except CustomerRefused as refused:
            raise CommandError(str(refused)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(f"created customer {username}; API token: {token}")
