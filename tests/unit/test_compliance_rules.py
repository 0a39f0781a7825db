"""The risk rules on their own: each at, just below and just above its threshold; the UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from compliance.rules import (
    RuleSettings,
    ScreenedTransfer,
    daily_limit,
    large_transfer,
    screen,
    structuring,
    velocity,
)

DEFAULTS = RuleSettings()
ACCOUNT = uuid4()
NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def transfer(cents: int, at: datetime = NOON, account: UUID = ACCOUNT) -> ScreenedTransfer:
    return ScreenedTransfer(id=uuid4(), account=account, amount=cents, at=at)


def earlier(*cents: int, at: datetime = NOON, spacing: timedelta = timedelta(0)):
    """History: transfers of these amounts, at ``at`` minus 1, 2, ... times ``spacing``."""
    return [transfer(c, at - spacing * (i + 1)) for i, c in enumerate(cents)]


# --- large_transfer: one transfer >= 10,000.00 --------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "flagged"), [(9_999_99, False), (10_000_00, True), (10_000_01, True)]
)
def test_large_transfer_at_and_around_the_threshold(cents: int, flagged: bool) -> None:
    assert (large_transfer(transfer(cents), [], DEFAULTS) is not None) is flagged


def test_a_large_transfer_says_why() -> None:
    finding = large_transfer(transfer(12_000_00), [], DEFAULTS)
    assert finding is not None and finding.rule == "large_transfer"
    assert "12000.00" in finding.reason and "10000.00" in finding.reason


# --- daily_limit: outgoing total in one UTC day > 15,000.00 -------------------------------------


@pytest.mark.parametrize(
    ("today_before", "cents", "flagged"),
    [
        (14_000_00, 1_000_00, False),  # exactly the limit: not over it
        (14_000_00, 99_99, False),  # just below
        (14_000_00, 1_000_01, True),  # one cent over
    ],
)
def test_daily_limit_at_and_around_the_limit(today_before: int, cents: int, flagged: bool) -> None:
    history = earlier(today_before, spacing=timedelta(hours=1))
    assert (daily_limit(transfer(cents), history, DEFAULTS) is not None) is flagged


def test_the_day_is_the_utc_day() -> None:
    midnight = datetime(2026, 3, 15, 0, 0, tzinfo=UTC)
    yesterday = [transfer(14_000_00, midnight - timedelta(microseconds=1))]
    assert daily_limit(transfer(2_000_00, midnight), yesterday, DEFAULTS) is None
    same_day = [transfer(14_000_00, midnight)]
    later = midnight + timedelta(hours=23, minutes=59, seconds=59)
    assert daily_limit(transfer(2_000_00, later), same_day, DEFAULTS) is not None


def test_the_day_is_utc_whatever_the_offset_the_time_was_written_in() -> None:
    """23:30 in New York on 14 March is 03:30 UTC on 15 March: another day than noon UTC."""
    late_in_new_york = datetime(2026, 3, 14, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    history = [transfer(14_000_00, NOON)]
    assert daily_limit(transfer(2_000_00, late_in_new_york), history, DEFAULTS) is None
    early_in_new_york = datetime(2026, 3, 14, 19, 30, tzinfo=ZoneInfo("America/New_York"))
    assert daily_limit(transfer(2_000_00, early_in_new_york), history, DEFAULTS) is not None


def test_later_transfers_of_the_same_day_do_not_count_for_an_earlier_one() -> None:
    history = [transfer(14_000_00, NOON + timedelta(hours=1))]
    assert daily_limit(transfer(2_000_00, NOON), history, DEFAULTS) is None


# --- velocity: 5 or more transfers from one account within 10 minutes --------------------------


@pytest.mark.parametrize(("before", "flagged"), [(3, False), (4, True), (5, True)])
def test_velocity_at_and_around_the_count(before: int, flagged: bool) -> None:
    """This transfer is the 4th, 5th or 6th in ten minutes."""
    history = earlier(*[100] * before, spacing=timedelta(minutes=2))
    assert (velocity(transfer(100), history, DEFAULTS) is not None) is flagged


@pytest.mark.parametrize(
    ("oldest_age", "flagged"),
    [
        (timedelta(minutes=10) - timedelta(seconds=1), True),
        (timedelta(minutes=10), True),
        (timedelta(minutes=10) + timedelta(seconds=1), False),
    ],
)
def test_velocity_window_edge(oldest_age: timedelta, flagged: bool) -> None:
    history = [
        *earlier(100, 100, 100, spacing=timedelta(minutes=1)),
        transfer(100, NOON - oldest_age),
    ]
    assert (velocity(transfer(100), history, DEFAULTS) is not None) is flagged


# --- structuring: 3 or more transfers within 24 h, each 9,000.00 .. 9,999.99 --------------------


@pytest.mark.parametrize(("before", "flagged"), [(1, False), (2, True), (3, True)])
def test_structuring_at_and_around_the_count(before: int, flagged: bool) -> None:
    history = earlier(*[9_500_00] * before, spacing=timedelta(hours=5))
    assert (structuring(transfer(9_500_00), history, DEFAULTS) is not None) is flagged


@pytest.mark.parametrize(
    ("cents", "flagged"),
    [
        (8_999_99, False),
        (9_000_00, True),
        (9_999_99, True),
        (10_000_00, False),  # that one is a large transfer instead
    ],
)
def test_structuring_band_edges(cents: int, flagged: bool) -> None:
    history = earlier(9_000_00, 9_999_99, spacing=timedelta(hours=1))
    assert (structuring(transfer(cents), history, DEFAULTS) is not None) is flagged


def test_structuring_ignores_transfers_outside_the_band_or_the_day() -> None:
    history = [
        transfer(9_500_00, NOON - timedelta(hours=24, seconds=1)),  # too old
        transfer(8_000_00, NOON - timedelta(hours=1)),  # below the band
        transfer(9_500_00, NOON - timedelta(hours=2)),
    ]
    assert structuring(transfer(9_500_00), history, DEFAULTS) is None
    history.append(transfer(9_500_00, NOON - timedelta(hours=24)))  # exactly 24 h: inside
    assert structuring(transfer(9_500_00), history, DEFAULTS) is not None


# --- screen: all rules, configurable ----------------------------------------------------------


def test_screen_reports_every_rule_that_holds() -> None:
    history = earlier(9_500_00, 9_500_00, spacing=timedelta(minutes=1))
    findings = screen(transfer(9_500_00), history, DEFAULTS)
    assert [f.rule for f in findings] == ["daily_limit", "structuring"]
    assert screen(transfer(100), [], DEFAULTS) == []


def test_screen_never_counts_the_transfer_itself_twice() -> None:
    """A transfer already in the history (a redelivery) is not one of its own predecessors."""
    this = transfer(100)
    three_in_a_row = RuleSettings(velocity_count=3)
    history = [this, *earlier(100, spacing=timedelta(minutes=1))]
    assert screen(this, history, three_in_a_row) == []
    assert screen(transfer(100), history, three_in_a_row) != []


def test_thresholds_come_from_settings() -> None:
    rules = RuleSettings.from_mapping(
        {
            "large_transfer_cents": 500_00,
            "velocity_count": 2,
            "velocity_window_seconds": 60,
            "structuring_band_cents": [400_00, 499_99],
        }
    )
    assert rules.velocity_window == timedelta(seconds=60)
    assert rules.structuring_band_cents == (400_00, 499_99)
    assert large_transfer(transfer(500_00), [], rules) is not None
    assert velocity(transfer(1), earlier(1, spacing=timedelta(seconds=59)), rules) is not None
    assert velocity(transfer(1), earlier(1, spacing=timedelta(seconds=61)), rules) is None


def test_the_lookback_covers_every_window() -> None:
    assert DEFAULTS.lookback == timedelta(hours=24)
    wide = RuleSettings(velocity_window=timedelta(days=2))
    assert wide.lookback == timedelta(days=2)


def test_the_settings_hold_api_md_defaults(settings) -> None:
    assert RuleSettings.from_mapping(settings.COMPLIANCE_RULES) == RuleSettings()
