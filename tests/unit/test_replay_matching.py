"""Event-type patterns match as NATS subjects do: ``*`` one token, ``>`` one or more."""

import pytest

from messaging.replay import type_matches


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        (">", "account.opened", True),
        ("account.>", "account.opened", True),
        ("account.>", "account", False),
        ("account.*", "account.opened", True),
        ("account.*", "transfer.completed", False),
        ("transfer.completed", "transfer.completed", True),
        ("transfer.completed", "transfer.completed.late", False),
        ("compliance.alert.*", "compliance.alert.raised", True),
        ("*.opened", "account.opened", True),
    ],
)
def test_type_matches(pattern: str, event_type: str, expected: bool) -> None:
    assert type_matches(pattern, event_type) is expected
