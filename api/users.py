"""Customers are Django users who are not staff: making one, asking whether a name is one, and
retiring one that was forgotten."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token


class CustomerRefused(Exception):
    """The username is taken, or the password does not pass the validators."""


def user_exists(username: str, *, active: bool = False) -> bool:
    """Whether a user has this name (``active``: one that may still log in, so not a
    forgotten customer)."""
    users = get_user_model().objects.filter(username=username)
    return (users.filter(is_active=True) if active else users).exists()


def customer_exists(username: str) -> bool:
    """A user who is not staff, active or not (a forgotten customer is still one)."""
    return get_user_model().objects.filter(username=username, is_staff=False).exists()


def retire_customer(username: str) -> None:
    """What Django's tables hold of a forgotten customer: the login goes (inactive, no usable
    password, its API token deleted), and so do the name and email Django's user model may
    hold; the username stays, as the name their accounts are known by. Retiring twice is once."""
    with transaction.atomic():
        get_user_model().objects.filter(username=username, is_staff=False).update(
            is_active=False, password=make_password(None), email="", first_name="", last_name=""
        )
        Token.objects.filter(user__username=username, user__is_staff=False).delete()


def create_customer(username: str, password: str, email: str = "") -> tuple[Any, str]:
    """Create the user and its API token; return both. Refuses weak passwords and taken names."""
    if user_exists(username):
        raise CustomerRefused(f"A user named {username!r} exists already.")
    User = get_user_model()  # noqa: N806
    try:
        validate_password(password, user=User(username=username, email=email))
    except ValidationError as exc:
        raise CustomerRefused(" ".join(exc.messages)) from None
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        token = Token.objects.create(user=user)
    return user, token.key
