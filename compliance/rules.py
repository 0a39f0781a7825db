"""The risk rules: pure functions of one completed transfer and its account's recent history.

No I/O and no clock: a rule measures time from the transfer's own timestamp, so screening the
same transfer against the same history gives the same findings on every replay. A rule looks
at the source account (money going out); it flags *this* transfer when, counting it, the
condition holds — so every transfer made while an account is over a limit is flagged, each
once (an alert is per transfer and rule).

``history`` is the account's earlier outgoing transfers (the compliance subscriber keeps it);
only those in a rule's window, ending at this transfer, count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from kernel.money import format_cents


@dataclass(frozen=True)
class ScreenedTransfer:
    """What the rules know of a transfer: who paid how much, and when (UTC)."""

    id: UUID
    account: UUID
    amount: int  # cents
    at: datetime


@dataclass(frozen=True)
class Finding:
    rule: str
    reason: str


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds; the defaults are those of docs/reference.md, and ``settings.COMPLIANCE_RULES``
    overrides them."""

    large_transfer_cents: int = 10_000_00
    daily_limit_cents: int = 15_000_00
    velocity_count: int = 5
    velocity_window: timedelta = timedelta(minutes=10)
    structuring_count: int = 3
    structuring_window: timedelta = timedelta(hours=24)
    structuring_band_cents: tuple[int, int] = (9_000_00, 9_999_99)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RuleSettings:
        """From settings, where windows are given in seconds (``velocity_window_seconds``)."""
        fields: dict[str, Any] = {}
        for key, value in values.items():
            if key.endswith("_window_seconds"):
                fields[key.removesuffix("_seconds")] = timedelta(seconds=value)
            elif key == "structuring_band_cents":
                low, high = value
                fields[key] = (int(low), int(high))
            else:
                fields[key] = value
        return cls(**fields)

    @property
    def lookback(self) -> timedelta:
        """How far back any rule looks: the history older than this never matters."""
        return max(self.velocity_window, self.structuring_window, timedelta(days=1))


Rule = Callable[[ScreenedTransfer, Sequence[ScreenedTransfer], RuleSettings], Finding | None]


def large_transfer(
    transfer: ScreenedTransfer, history: Sequence[ScreenedTransfer], rules: RuleSettings
) -> Finding | None:
    """One transfer of the threshold or more."""
    if transfer.amount >= rules.large_transfer_cents:
        return Finding(
            "large_transfer",
            f"{format_cents(transfer.amount)} is at or above the single-transfer threshold of "
            f"{format_cents(rules.large_transfer_cents)}.",
        )
    return None


def daily_limit(
    transfer: ScreenedTransfer, history: Sequence[ScreenedTransfer], rules: RuleSettings
) -> Finding | None:
    """The account's outgoing total on the transfer's UTC day goes over the limit."""
    day = utc_day(transfer.at)
    earlier = [h for h in history if utc_day(h.at) == day and h.at <= transfer.at]
    total = transfer.amount + sum(h.amount for h in earlier)
    if total > rules.daily_limit_cents:
        return Finding(
            "daily_limit",
            f"Outgoing total on {day.isoformat()} (UTC) is {format_cents(total)}, over the "
            f"daily limit of {format_cents(rules.daily_limit_cents)}.",
        )
    return None


def velocity(
    transfer: ScreenedTransfer, history: Sequence[ScreenedTransfer], rules: RuleSettings
) -> Finding | None:
    """Too many transfers from the account within a short window."""
    count = 1 + len(within(history, transfer, rules.velocity_window))
    if count >= rules.velocity_count:
        return Finding(
            "velocity",
            f"{count} transfers from this account within {_duration(rules.velocity_window)} "
            f"(threshold {rules.velocity_count}).",
        )
    return None


def structuring(
    transfer: ScreenedTransfer, history: Sequence[ScreenedTransfer], rules: RuleSettings
) -> Finding | None:
    """Several transfers just under the large-transfer threshold: splitting to stay unseen."""
    low, high = rules.structuring_band_cents
    if not low <= transfer.amount <= high:
        return None
    recent = within(history, transfer, rules.structuring_window)
    count = 1 + sum(1 for h in recent if low <= h.amount <= high)
    if count >= rules.structuring_count:
        return Finding(
            "structuring",
            f"{count} transfers between {format_cents(low)} and {format_cents(high)} within "
            f"{_duration(rules.structuring_window)} (threshold {rules.structuring_count}).",
        )
    return None


RULES: tuple[Rule, ...] = (large_transfer, daily_limit, velocity, structuring)
RULE_NAMES: tuple[str, ...] = tuple(rule.__name__ for rule in RULES)


def screen(
    transfer: ScreenedTransfer, history: Sequence[ScreenedTransfer], rules: RuleSettings
) -> list[Finding]:
    """Every rule's finding for this transfer, in the order of ``RULES``."""
    earlier = [h for h in history if h.id != transfer.id]
    return [f for rule in RULES if (f := rule(transfer, earlier, rules)) is not None]


def within(
    history: Sequence[ScreenedTransfer], transfer: ScreenedTransfer, window: timedelta
) -> list[ScreenedTransfer]:
    """The earlier transfers in the window that ends at ``transfer`` (both ends included)."""
    start = transfer.at - window
    return [h for h in history if start <= h.at <= transfer.at]


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _duration(window: timedelta) -> str:
    minutes = int(window.total_seconds()) // 60
    if minutes % 60:
        return f"{minutes} minutes"
    return f"{minutes // 60} h"
