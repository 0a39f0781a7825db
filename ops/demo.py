"""The demo data ``make run`` starts with, so that a newcomer has something to look at.

Everything is made through the contexts' use cases (the same calls the API makes), never by
writing tables, and every id is derived from a fixed name, so seeding again finds each thing
in place and creates nothing: the plan is a list of steps, each with the check that says it
is done already. Never run against a database that holds real customers: ``run_all`` seeds
only when ``EVENTBANK_SEED_DEMO`` is on (``make run`` turns it on) and the database has no
users at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import NAMESPACE_URL, UUID, uuid5

from django.contrib.auth import get_user_model

from api.users import create_customer
from config.container import Container
from kernel.money import format_cents
from ledger.domain import Account, CashKind
from ledger.saga import Transfer
from orders.domain import Order, OrderStatus, Product, product_id
from sagas.engine import SagaStatus

# Every demo user's password: public on purpose (printed by run_all, written in the README).
DEMO_PASSWORD = "eventbank-demo"  # noqa: S105
CUSTOMERS = ("alice", "bob")
STAFF_USERNAME = "operator"
LARGE_TRANSFER = 12_000_00  # over the large_transfer rule's 10,000.00: compliance raises an alert

_NAMESPACE = uuid5(NAMESPACE_URL, "https://eventbank.example/demo")


def demo_id(name: str) -> UUID:
    """The id of a demo account, transfer or order: the same on every machine and every run."""
    return uuid5(_NAMESPACE, name)


ALICE_CURRENT, ALICE_SAVINGS, BOB_CURRENT = (
    demo_id("account:alice-current"),
    demo_id("account:alice-savings"),
    demo_id("account:bob-current"),
)


class DemoSeedError(RuntimeError):
    """A use case refused a demo step: the data is not what a demo expects (say so, stop)."""


@dataclass(frozen=True)
class Step:
    """One thing the demo needs: what it is, whether it is there, and how to make it."""

    what: str
    is_done: Callable[[], bool]
    make: Callable[[], object]


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)

    def summary(self, *, dry_run: bool = False) -> str:
        verb = "would create" if dry_run else "created"
        return (
            f"seed_demo: {verb} {len(self.created)}, already there {len(self.present)}. "
            f"Log in as alice, bob or {STAFF_USERNAME} (staff) with {DEMO_PASSWORD!r}."
        )


def seed_demo(
    container: Container, *, dry_run: bool = False, say: Callable[[str], None] | None = None
) -> SeedReport:
    """Make every demo step that is not done yet; ``dry_run`` only says which it would make."""
    report = SeedReport()
    for step in demo_steps(container):
        if step.is_done():
            report.present.append(step.what)
            continue
        if not dry_run:
            step.make()
        report.created.append(step.what)
        if say is not None:
            say(f"{'would create' if dry_run else 'created'} {step.what}")
    return report


def demo_steps(container: Container) -> list[Step]:
    """The demo, in the order it happens: users, accounts, money, stock, transfers, orders."""
    ledger, orders = container.ledger, container.orders
    users = get_user_model().objects

    def deposited(account_id: UUID, reference: str) -> Callable[[], bool]:
        kind = CashKind.DEPOSIT
        return lambda: ledger.find_cash_movement(kind, account_id, reference) is not None

    def transferred(name: str, source: UUID, target: UUID, cents: int, reference: str) -> Step:
        transfer_id = demo_id(f"transfer:{name}")

        def is_done() -> bool:
            transfer = ledger.find(transfer_id, Transfer)
            return transfer is not None and transfer.is_finished

        def make() -> None:
            transfer = ledger.transfer_funds(
                source, target, cents, transfer_id=transfer_id, reference=reference
            )
            if transfer.status != SagaStatus.COMPLETED:
                raise DemoSeedError(f"transfer {reference!r}: {transfer.failure_reason}")

        return Step(f"transfer {reference!r} ({format_cents(cents)} EUR)", is_done, make)

    def ordered(name: str, customer: str, account: UUID, lines: list[tuple[str, int]]) -> Step:
        order_id = demo_id(f"order:{name}")

        def is_done() -> bool:
            order = orders.find(order_id, Order)
            return order is not None and order.status != OrderStatus.PENDING

        def make() -> None:
            placement = orders.place_order(customer, account, lines, order_id=order_id)
            if placement.status != SagaStatus.COMPLETED:
                raise DemoSeedError(f"order {name!r}: {placement.failure_reason}")

        return Step(f"{customer}'s order {name!r}", is_done, make)

    def order_becomes(name: str, status: OrderStatus, change: Callable[[UUID], object]) -> Step:
        order_id = demo_id(f"order:{name}")

        def is_done() -> bool:
            order = orders.find(order_id, Order)
            return order is not None and order.status == status

        return Step(f"order {name!r} {status}", is_done, lambda: change(order_id))

    def product(sku: str, name: str, cents: int, stock: int) -> Step:
        return Step(
            f"product {sku} ({stock} in stock)",
            lambda: orders.find(product_id(sku), Product) is not None,
            lambda: orders.create_product(sku, name, cents, stock),
        )

    def customer(username: str) -> Step:
        return Step(
            f"customer {username} (password {DEMO_PASSWORD!r})",
            lambda: users.filter(username=username).exists(),
            lambda: create_customer(username, DEMO_PASSWORD),
        )

    def account(account_id: UUID, owner: str, label: str) -> Step:
        return Step(
            f"{owner}'s {label} account {account_id}",
            lambda: ledger.find(account_id, Account) is not None,
            lambda: ledger.open_account(owner, "EUR", account_id=account_id),
        )

    def deposit(account_id: UUID, owner: str, cents: int) -> Step:
        reference = f"demo-opening-deposit-{account_id}"
        return Step(
            f"a deposit of {format_cents(cents)} EUR for {owner}",
            deposited(account_id, reference),
            lambda: ledger.deposit(account_id, cents, reference),
        )

    # At most three outgoing transfers per account (order payments count): the velocity rule
    # flags a fifth within ten minutes, and a newcomer's first transfers should not trip it.
    return [
        *(customer(name) for name in CUSTOMERS),
        Step(
            f"staff user {STAFF_USERNAME} (password {DEMO_PASSWORD!r}; the admin's login)",
            lambda: users.filter(username=STAFF_USERNAME).exists(),
            lambda: users.create_superuser(STAFF_USERNAME, "", DEMO_PASSWORD),
        ),
        account(ALICE_CURRENT, "alice", "current"),
        account(ALICE_SAVINGS, "alice", "savings"),
        account(BOB_CURRENT, "bob", "current"),
        deposit(ALICE_CURRENT, "alice", 20_000_00),
        deposit(BOB_CURRENT, "bob", 500_00),
        product("coffee-beans", "Coffee beans, 1 kg", 12_50, 100),
        product("mug", "Enamel mug", 8_00, 50),
        product("teapot", "Cast-iron teapot", 34_90, 10),
        transferred("rainy-day", ALICE_CURRENT, ALICE_SAVINGS, 250_00, "rainy day"),
        transferred("concert", BOB_CURRENT, ALICE_CURRENT, 40_00, "concert tickets"),
        transferred("house", ALICE_CURRENT, BOB_CURRENT, LARGE_TRANSFER, "house deposit"),
        ordered("alice-breakfast", "alice", ALICE_CURRENT, [("coffee-beans", 2), ("mug", 1)]),
        order_becomes("alice-breakfast", OrderStatus.SHIPPED, orders.ship_order),
        ordered("bob-refill", "bob", BOB_CURRENT, [("coffee-beans", 1)]),
        ordered("bob-teapot", "bob", BOB_CURRENT, [("teapot", 1)]),
        order_becomes("bob-teapot", OrderStatus.CANCELLED, orders.cancel_order),
    ]


def demo_is_seeded() -> bool:
    """Whether this database holds the demo's staff user (then it holds the demo)."""
    return get_user_model().objects.filter(username=STAFF_USERNAME).exists()


def demo_login_lines(base_url: str) -> list[str]:
    """What ``run_all`` prints about the demo: the logins, and a transfer to try with curl."""
    api = f"{base_url}/api"
    token = (
        f"token=$(curl -s {api}/auth/token/ -H 'Content-Type: application/json' "
        f'-d \'{{"username": "alice", "password": "{DEMO_PASSWORD}"}}\' '
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')"
    )
    transfer = (
        f'curl -s {api}/transfers/ -H "Authorization: Token $token" '
        "-H 'Content-Type: application/json' "
        f'-d \'{{"from_account": "{ALICE_CURRENT}", "to_account": "{ALICE_SAVINGS}", '
        '"amount": "5.00"}\''
    )
    return [
        f"  demo login   customers {', '.join(CUSTOMERS)}; staff {STAFF_USERNAME} (the admin); "
        f"password {DEMO_PASSWORD}",
        "  try it       " + token,
        "               " + transfer,
    ]
