"""Whether the books balance (``manage.py audit_ledger``, and the admin's trial balance).

From the event store, which is the record: every account folded, and for each currency the
posted balances of all accounts, the system's own included, sum to zero — less the deposits and
withdrawals stored before double entry, which had no other leg and are counted apart as such.
What pending holds set aside on their payers equals what they promise their payees, and is what
the pending holds hold. Every hold was placed once and ended at most once.

From the projections, which are derived: each account's row says what its fold says, and its
posted entries add up to its balance. A projection still behind the store is said to be behind
(audit again once it has caught up), not taken for a wrong one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import Q, Sum
from eventsourcing.utils import get_topic

from kernel.application import EventSourcedApplication
from kernel.money import format_cents
from ledger.application import LedgerApplication
from ledger.domain import SYSTEM_PREFIX, Account, CashKind
from ledger.holds import Hold
from projections.models import AccountSummary, LedgerEntry
from projections.selectors import caught_up_to


@dataclass
class TrialBalance:
    """One currency's books: posted balances by who holds them, and held money."""

    currency: str
    customers: int = 0  # posted, over the customers' accounts
    system: dict[str, int] = field(default_factory=dict)  # posted, by system account owner
    before_double_entry: int = 0  # deposits less withdrawals stored with one leg only
    held: int = 0  # set aside on payers by pending holds
    incoming: int = 0  # promised to payees by pending holds

    @property
    def posted(self) -> int:
        return self.customers + sum(self.system.values())

    def rows(self) -> list[tuple[str, int]]:
        """The trial balance: who holds what posted, and what sums it to zero."""
        rows = [("customers' accounts", self.customers), *sorted(self.system.items())]
        if self.before_double_entry:
            rows.append(("before double entry (one leg)", -self.before_double_entry))
        rows.append(("sum", self.posted - self.before_double_entry))
        return rows

    def lines(self) -> list[str]:
        """The trial balance as an operator reads it in a terminal."""
        width = max(len(label) for label, _ in self.rows()) + 2
        rows = [f"  {label:<{width}}{format_cents(c):>22}" for label, c in self.rows()]
        promised = f"{format_cents(self.held)} held, {format_cents(self.incoming)} promised"
        return [self.currency, *rows, f"  {'holds':<{width}}{promised:>22}"]


@dataclass
class Audit:
    balances: list[TrialBalance]
    discrepancies: list[str]

    @property
    def balanced(self) -> bool:
        return not self.discrepancies


def audit(ledger: LedgerApplication) -> Audit:
    """Audit the ledger's store, then the projections against it."""
    accounts = _accounts(ledger)
    store = _audit_store(ledger, accounts)
    return Audit(
        store.balances, [*store.discrepancies, *_projection_discrepancies(ledger, accounts)]
    )


def audit_store(ledger: LedgerApplication) -> Audit:
    """The store's half of the audit alone, projections left out: the books and the holds."""
    return _audit_store(ledger, _accounts(ledger))


def _accounts(ledger: LedgerApplication) -> dict[UUID, Account]:
    opened = Account.Opened  # type: ignore[attr-defined]  # (@event makes it)
    return {a.id: a for a in map(ledger.get_account, _ids(ledger, opened))}


def _audit_store(ledger: LedgerApplication, accounts: dict[UUID, Account]) -> Audit:
    """The trial balance of each currency from these accounts' folds, and what is wrong in it
    or in the holds."""
    balances: dict[str, TrialBalance] = {}
    for account in accounts.values():
        books = balances.setdefault(account.currency, TrialBalance(account.currency))
        if account.owner.startswith(SYSTEM_PREFIX):
            books.system[account.owner] = books.system.get(account.owner, 0) + account.balance
        else:
            books.customers += account.balance
        books.held += account.held
        books.incoming += account.incoming
    for account_id, signed in _single_legged(ledger):
        balances[accounts[account_id].currency].before_double_entry += signed
    discrepancies = [
        *_books_discrepancies(balances.values()),
        *_hold_discrepancies(ledger, balances),
    ]
    return Audit(sorted(balances.values(), key=lambda b: b.currency), discrepancies)


def projected_balances() -> list[TrialBalance]:
    """The trial balance as the projections have it (cheap enough for a page: two grouped
    queries); ``audit`` is the check against the store."""
    balances: dict[str, TrialBalance] = {}
    rows = AccountSummary.objects.values("currency", "owner").annotate(
        posted=Sum("balance"), held_total=Sum("held"), incoming_total=Sum("incoming")
    )
    for row in rows:
        books = balances.setdefault(row["currency"], TrialBalance(row["currency"]))
        if row["owner"].startswith(SYSTEM_PREFIX):
            books.system[row["owner"]] = row["posted"]
        else:
            books.customers += row["posted"]
        books.held += row["held_total"]
        books.incoming += row["incoming_total"]
    currency_of = dict(AccountSummary.objects.values_list("id", "currency"))
    single = LedgerEntry.objects.filter(
        phase=LedgerEntry.Phase.POSTED, counterparty__isnull=True, kind__in=list(CashKind)
    ).values_list("account_id", "direction", "amount")
    for account_id, direction, amount in single:
        if account_id in currency_of:
            sign = 1 if direction == "credit" else -1
            balances[currency_of[account_id]].before_double_entry += sign * amount
    return sorted(balances.values(), key=lambda b: b.currency)


def _books_discrepancies(balances: Any) -> Iterator[str]:
    for books in balances:
        if books.posted != books.before_double_entry:
            yield (
                f"{books.currency}: posted balances sum to {format_cents(books.posted)}, "
                f"not {format_cents(books.before_double_entry)} (what came in with one leg)"
            )
        if books.held != books.incoming:
            yield (
                f"{books.currency}: {format_cents(books.held)} held on payers, but "
                f"{format_cents(books.incoming)} promised to payees"
            )


def _hold_discrepancies(
    ledger: LedgerApplication, balances: dict[str, TrialBalance]
) -> Iterator[str]:
    """Every hold placed once and ended at most once; what pending holds hold is what is held."""
    placed, ending = get_topic(Hold.Placed), {get_topic(c) for c in _endings()}
    seen: dict[UUID, list[str]] = defaultdict(list)
    for notification in _log(ledger, [placed, *sorted(ending)]):
        seen[_id(notification.originator_id)].append(notification.topic)
    pending: dict[str, int] = defaultdict(int)
    for hold_id, topics in seen.items():
        if topics[0] != placed or topics.count(placed) != 1 or len(topics) > 2:
            moves = ", ".join(t.rsplit(".", 1)[-1] for t in topics)
            yield f"hold {hold_id}: {moves} (a hold is placed once and ends at most once)"
        elif len(topics) == 1:
            hold = ledger.get_hold(hold_id)
            pending[hold.currency] += hold.amount
    for currency, books in balances.items():
        if pending.get(currency, 0) != books.held:
            yield (
                f"{currency}: pending holds hold {format_cents(pending.get(currency, 0))}, "
                f"accounts say {format_cents(books.held)} is held"
            )


def _projection_discrepancies(
    ledger: LedgerApplication, accounts: dict[UUID, Account]
) -> Iterator[str]:
    head = ledger.max_position()
    for projection in ("accounts", "transactions"):
        reached = caught_up_to(projection, ledger.catalogue.source)
        if reached < head:
            yield (
                f"the {projection} projection has applied the ledger up to {reached} of {head}: "
                "audit again once it has caught up"
            )
            return
    rows = AccountSummary.objects.in_bulk(list(accounts))
    posted = _posted_by_account()
    for account_id, account in accounts.items():
        row = rows.get(account_id)
        stored = (account.balance, account.held, account.incoming, str(account.status))
        if row is None or (row.balance, row.held, row.incoming, row.status) != stored:
            yield f"account {account_id}: the accounts projection disagrees with its events"
        elif posted.get(account_id, 0) != account.balance:
            yield f"account {account_id}: its posted entries add up to another balance"


def _posted_by_account() -> dict[UUID, int]:
    entries = LedgerEntry.objects.filter(phase=LedgerEntry.Phase.POSTED).values("account_id")
    totals = entries.annotate(
        credits=Sum("amount", filter=Q(direction="credit"), default=0),
        debits=Sum("amount", filter=Q(direction="debit"), default=0),
    )
    return {row["account_id"]: row["credits"] - row["debits"] for row in totals}


def _single_legged(ledger: LedgerApplication) -> Iterator[tuple[UUID, int]]:
    """Deposits (+) and withdrawals (-) stored before double entry: no other leg was written."""
    topics = [get_topic(Account.Credited), get_topic(Account.Debited)]  # type: ignore[attr-defined]
    for notification in _log(ledger, topics):
        event = ledger.decode(notification)
        if event.counterparty is None and event.kind in (CashKind.DEPOSIT, CashKind.WITHDRAWAL):
            sign = 1 if event.kind == CashKind.DEPOSIT else -1
            yield event.originator_id, sign * event.amount


def _endings() -> tuple[type, ...]:
    return (Hold.Captured, Hold.Voided, Hold.Expired)


def _ids(app: EventSourcedApplication, created: type) -> list[UUID]:
    return [_id(n.originator_id) for n in _log(app, [get_topic(created)])]


def _log(app: EventSourcedApplication, topics: list[str]) -> Iterator[Any]:
    """The notifications of these topics, oldest first (a topic-filtered scan of the log)."""
    position = 0
    while notifications := app.notifications_after(position, 1000, topics=topics):
        yield from notifications
        position = notifications[-1].id


def _id(value: object) -> UUID:
    assert isinstance(value, UUID)
    return value
