"""Token authentication reads user and token in one hand-written query: what it hands DRF must
be what the ORM would have made of the same rows, on SQLite (text datetimes, integer booleans)
as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from tuning.token_auth import TokenAuthentication

pytestmark = pytest.mark.django_db


def test_the_user_and_token_are_the_orms_own(make_user: Any) -> None:
    user = make_user("carol", staff=True)
    user.last_login = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    user.save()
    token = Token.objects.create(user=user)

    found, auth = TokenAuthentication().authenticate_credentials(token.key)

    stored = get_user_model().objects.get(pk=user.pk)
    assert type(found) is type(stored) and found.pk == stored.pk
    assert model_to_dict(found) == model_to_dict(stored)
    assert found.last_login == stored.last_login and found.last_login.tzinfo is not None
    assert found.is_staff is True and found.is_active is True
    assert found._state.adding is False and found._state.db == "default"
    assert (auth.key, auth.user, auth.created) == (token.key, stored, token.created)
    assert auth.created.tzinfo is not None


def test_an_unknown_key_or_an_inactive_user_is_refused(make_user: Any) -> None:
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate_credentials("0" * 40)
    user = make_user("dave")
    token = Token.objects.create(user=user)
    user.is_active = False
    user.save()
    with pytest.raises(AuthenticationFailed, match="inactive"):
        TokenAuthentication().authenticate_credentials(token.key)
