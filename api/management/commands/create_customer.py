"""Create an API user who is a customer: not staff, sees and moves only its own accounts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token


def create_customer(username: str, password: str, email: str = "") -> tuple[Any, str]:
    """Create the user and its API token; return both. Refuses weak passwords and taken names."""
    User = get_user_model()  # noqa: N806
    if User.objects.filter(username=username).exists():
        raise CommandError(f"A user named {username!r} exists already.")
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from None
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        token = Token.objects.create(user=user)
    return user, token.key


class Command(BaseCommand):
    help = "Create a customer (a non-staff API user) and print its API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, username: str, password: str, email: str, **options: Any) -> None:
        _, token = create_customer(username, password, email)
        if options["verbosity"] >= 1:
            self.stdout.write(f"created customer {username}; API token: {token}")
