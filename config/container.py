"""The composition root: the one place that builds each context's application, with the
speed-ups of the tuning package that the settings choose (``EVENTBANK_TUNING``).

Built lazily, once per process — after a server has forked its workers, never at import
time (a PostgreSQL store holds a connection pool that must not cross a fork) — and closed
at exit. Tests build their own container on fresh stores and install it with ``use()``.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from compliance.application import ComplianceApplication
from config.stores import eventstore_env
from customers.application import CustomersApplication
from customers.keys import DatabaseKeys
from customers.vault import Vault
from kernel.application import EventSourcedApplication
from ledger.application import LedgerApplication
from ledger.domain import Account
from ledger.saga import TransferBatch
from orders.application import OrdersApplication
from sagas.engine import Saga
from tuning import flat_copies
from tuning.applications import tuned

A = TypeVar("A", bound=EventSourcedApplication)


class Container:
    """Each context's application, built the first time it is asked for.

    Building a PostgreSQL-backed application opens its connection pool, so a process that uses
    one context (a subscriber that only freezes accounts) holds no connections to the others.
    """

    def __init__(
        self,
        store_urls: Mapping[str, str],
        *,
        saga_deadline_seconds: float = 60.0,
        tuning: Collection[str] = (),
    ) -> None:
        self._store_urls = dict(store_urls)
        self._saga_deadline_seconds = saga_deadline_seconds
        self.tuning = frozenset(tuning)
        if "flat_copies" in self.tuning:
            flat_copies.install(Account, Saga, TransferBatch)  # process-wide: their copies are flat
        self._built: dict[str, EventSourcedApplication] = {}
        self._lock = threading.RLock()  # building orders builds the ledger it pays through

    @property
    def ledger(self) -> LedgerApplication:
        return self._application("ledger", LedgerApplication, self._configure_ledger)

    @property
    def orders(self) -> OrdersApplication:
        return self._application("orders", OrdersApplication, self._configure_orders)

    @property
    def compliance(self) -> ComplianceApplication:
        return self._application("compliance", ComplianceApplication)

    @property
    def customers(self) -> CustomersApplication:
        return self._application("customers", CustomersApplication, self._configure_customers)

    def _configure_ledger(self, ledger: LedgerApplication) -> None:
        ledger.transfer_deadline_seconds = self._saga_deadline_seconds

    def _configure_orders(self, orders: OrdersApplication) -> None:
        orders.saga_deadline_seconds = self._saga_deadline_seconds
        orders.payments = self.ledger  # orders pay through the ledger's use cases

    def _configure_customers(self, customers: CustomersApplication) -> None:
        customers.vault = Vault(DatabaseKeys())  # the key table is in Django's database

    # Each one's source of events has its name.
    contexts = ("ledger", "orders", "compliance", "customers")

    @property
    def applications(self) -> dict[str, EventSourcedApplication]:
        return {context: self.application(context) for context in self.contexts}

    def application(self, context: str) -> EventSourcedApplication:
        """One context's application, building only it (and the ones it uses)."""
        builders: dict[str, Callable[[], EventSourcedApplication]] = {
            "ledger": lambda: self.ledger,
            "orders": lambda: self.orders,
            "compliance": lambda: self.compliance,
            "customers": lambda: self.customers,
        }
        return builders[context]()

    def _application(
        self, context: str, kind: type[A], configure: Callable[[A], None] | None = None
    ) -> A:
        with self._lock:
            app = self._built.get(context)
            if app is None:
                env = eventstore_env(self._store_urls[context], tuning=self.tuning)
                app = tuned(kind, self.tuning)(env=env)
                if configure is not None:
                    configure(app)
                self._built[context] = app
        assert isinstance(app, kind)
        return app

    def close(self) -> None:
        with self._lock:
            built, self._built = self._built, {}
        for app in built.values():
            app.close()


def build_container(
    store_urls: Mapping[str, str],
    *,
    saga_deadline_seconds: float = 60.0,
    tuning: Collection[str] | None = None,
) -> Container:
    """The applications, each on the event store its URL names (built when first used), with
    the speed-ups ``tuning`` names (by default the settings': ``EVENTBANK_TUNING``)."""
    if tuning is None:
        from django.conf import settings

        tuning = settings.TUNING
    return Container(store_urls, saga_deadline_seconds=saga_deadline_seconds, tuning=tuning)


_lock = threading.Lock()
_container: Container | None = None
_owner_pid: int | None = None


def get_container() -> Container:
    """This process's container, built on first use from settings."""
    global _container, _owner_pid
    if _container is not None and _owner_pid == os.getpid():
        return _container
    with _lock:
        if _container is None or _owner_pid != os.getpid():
            from django.conf import settings

            _container = build_container(
                settings.EVENT_STORE_URLS, saga_deadline_seconds=settings.SAGA_DEADLINE_SECONDS
            )
            _owner_pid = os.getpid()
        return _container


def use(container: Container | None) -> None:
    """Install a container built elsewhere (tests), or forget the current one (None)."""
    global _container, _owner_pid
    with _lock:
        _container, _owner_pid = container, os.getpid() if container else None


def close_container() -> None:
    global _container
    with _lock:
        if _container is not None and _owner_pid == os.getpid():
            _container.close()
        _container = None


atexit.register(close_container)
