"""Holds: two-phase transfers, after TigerBeetle's pending transfers.

A hold reserves an amount on one account for another (placed: the source's ``held`` and the
destination's ``incoming`` grow); later it is captured — all of it or part, the rest released —
or voided, or it expires. It resolves once: a repeated capture of a captured hold, or a repeated
void of a voided one, changes nothing and answers as the first did; any other move of a hold that
is no longer pending is ``invalid_state``. Each move is saved with its effect on both accounts,
in one transaction (``LedgerApplication.place_hold`` and the others).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import InvalidAmount, InvalidState


class HoldStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True)
class HoldFacts:
    """What a hold is about, on every event of it, so a consumer of one needs no other."""

    from_account: UUID
    to_account: UUID
    amount: int  # what was held
    currency: str
    reference: str


class Hold(Aggregate):
    class Placed(HoldFacts, Aggregate.Created):
        expires_at: datetime

    class Captured(HoldFacts, Aggregate.Event):
        captured: int  # posted; the rest of ``amount`` was released

        def apply(self, hold: Hold) -> None:
            hold.status, hold.captured = HoldStatus.CAPTURED, self.captured

    class Voided(HoldFacts, Aggregate.Event):
        def apply(self, hold: Hold) -> None:
            hold.status = HoldStatus.VOIDED

    class Expired(HoldFacts, Aggregate.Event):
        def apply(self, hold: Hold) -> None:
            hold.status = HoldStatus.EXPIRED

    def __init__(
        self,
        id: UUID,
        from_account: UUID,
        to_account: UUID,
        amount: int,
        currency: str,
        reference: str,
        expires_at: datetime,
    ) -> None:
        self.from_account = from_account
        self.to_account = to_account
        self.amount = amount
        self.currency = currency
        self.reference = reference
        self.expires_at = expires_at
        self.status = HoldStatus.PENDING
        self.captured = 0

    def facts(self) -> dict[str, Any]:
        return {fact.name: getattr(self, fact.name) for fact in fields(HoldFacts)}

    def is_due(self, now: datetime) -> bool:
        """Pending and past its expiry: the next look at it expires it."""
        return self.status == HoldStatus.PENDING and now >= self.expires_at

    # --- Moves: each says whether it changed the hold (a repeat changes nothing) -----------

    def capture(self, amount: int | None, now: datetime) -> bool:
        """Post ``amount`` (all of it when None) and release the rest."""
        if self.status == HoldStatus.CAPTURED:
            return False
        self.check_pending("capture", now)
        captured = self.amount if amount is None else amount
        if not isinstance(captured, int) or isinstance(captured, bool):
            raise InvalidAmount("An amount must be a whole number of cents.")
        if not 0 < captured <= self.amount:
            raise InvalidAmount(f"A capture takes from 0.01 up to the {self.amount} cents held.")
        self.trigger_event(self.Captured, captured=captured, **self.facts())
        return True

    def void(self, now: datetime) -> bool:
        if self.status == HoldStatus.VOIDED:
            return False
        self.check_pending("void", now)
        self.trigger_event(self.Voided, **self.facts())
        return True

    def expire(self, now: datetime) -> bool:
        if not self.is_due(now):
            return False
        self.trigger_event(self.Expired, **self.facts())
        return True

    def check_pending(self, doing: str, now: datetime) -> None:
        if self.status != HoldStatus.PENDING:
            raise InvalidState(f"Hold {self.id} is {self.status}; cannot {doing} it.")
        if now >= self.expires_at:
            raise InvalidState(f"Hold {self.id} expired at {self.expires_at.isoformat()}.")
