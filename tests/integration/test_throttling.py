"""Writes are throttled per user (429 ``throttled`` with Retry-After); reads never are; one
user's writes do not spend another's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.integration.test_ledger_api import assert_error, open_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_writes_a_minute(settings) -> Iterator[None]:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                   "writes": "3/min"},
    }  # fmt: skip
    cache.clear()
    yield
    cache.clear()


def test_a_fourth_write_in_a_minute_is_refused_and_reads_go_on(
    container, three_writes_a_minute, make_user, client_for
) -> None:
    alice, bob = client_for(make_user("alice")), client_for(make_user("bob"))
    for _ in range(3):
        open_account(alice)
    refused = alice.post("/api/accounts/", {}, format="json")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    assert alice.get("/api/accounts/").status_code == 200  # reads are not throttled
    open_account(bob)  # another user's budget is untouched
    assert len(container.ledger.notifications_after(0, 100)) == 4  # nothing more was opened
