"""``?min_position=``: a read waits for its projection, but never for a position its log has
not reached, never more than a few at a time per process, and only for a position written as
the schema says (ASCII digits)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from api import consistency
from config.container import Container
from tests.integration.test_ledger_api import assert_error, open_account

pytestmark = pytest.mark.django_db

READS = ["/api/accounts/", "/api/transfers/", "/api/products/", "/api/orders/"]


@pytest.fixture
def alice(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


@pytest.fixture
def no_waiting(monkeypatch) -> None:
    """Any wait for a projection fails the test: the answer must come at once."""

    def must_not_wait(*args: Any, **kwargs: Any) -> bool:
        raise AssertionError("the request waited for the projection")

    monkeypatch.setattr(consistency, "wait_until_caught_up", must_not_wait)


@pytest.mark.parametrize("path", READS)
def test_a_position_beyond_the_log_is_503_at_once(
    container: Container, alice: APIClient, no_waiting: None, path: str
) -> None:
    """No write has that position, so waiting could only hold a thread (16 such requests once
    made an unrelated read wait 9 s)."""
    open_account(alice)
    for position in [1_000_000, 2**63 - 1]:
        body = assert_error(alice.get(f"{path}?min_position={position}"), 503, "projection_behind")
        assert "its head is" in body["message"]


@pytest.fixture
def one_place(settings) -> None:
    settings.READ_YOUR_WRITES_MAX_WAITING = 1
    settings.READ_YOUR_WRITES_TIMEOUT_SECONDS = 0.05


def test_when_every_place_to_wait_is_taken_a_read_is_503_at_once(
    container: Container, alice: APIClient, one_place: None, monkeypatch
) -> None:
    position = open_account(alice)["position"]  # written, and no projector runs here
    places = consistency._waiting()
    assert places.acquire(blocking=False)  # another request is waiting
    try:
        with monkeypatch.context() as patched:
            patched.setattr(consistency, "wait_until_caught_up", pytest.fail)
            body = assert_error(
                alice.get(f"/api/accounts/?min_position={position}"), 503, "projection_behind"
            )
        assert "too many reads are waiting" in body["message"]
    finally:
        places.release()
    body = assert_error(
        alice.get(f"/api/accounts/?min_position={position}"), 503, "projection_behind"
    )
    assert "within" in body["message"]  # with the place free it waited, and let it go after
    assert places.acquire(blocking=False)  # given back
    places.release()


@pytest.mark.parametrize(
    "given", ["\u0661\u0660", " 1", "1 ", "1_0", "1.0", "", "-1", "+1", "1e3", "9" * 20, "0x10"]
)
def test_a_position_is_ascii_digits_within_a_bigint(
    container: Container, alice: APIClient, given: str
) -> None:
    """int() takes Arabic-Indic digits, spaces and underscores; the schema says an integer."""
    body = assert_error(alice.get("/api/accounts/", {"min_position": given}), 400, "invalid")
    assert "min_position" in body["details"]
