"""The composition root: the one place that builds each context's application.

Built lazily, once per process — after a server has forked its workers, never at import
time (a PostgreSQL store holds a connection pool that must not cross a fork) — and closed
at exit. Tests build their own container on fresh stores and install it with ``use()``.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from compliance.application import ComplianceApplication
from config.stores import eventstore_env
from kernel.application import EventSourcedApplication
from ledger.application import LedgerApplication
from orders.application import OrdersApplication


@dataclass(frozen=True)
class Container:
    ledger: LedgerApplication
    orders: OrdersApplication
    compliance: ComplianceApplication

    @property
    def applications(self) -> dict[str, EventSourcedApplication]:
        return {"ledger": self.ledger, "orders": self.orders, "compliance": self.compliance}

    def close(self) -> None:
        for app in self.applications.values():
            app.close()


def build_container(
    store_urls: Mapping[str, str], *, saga_deadline_seconds: float = 60.0
) -> Container:
    """Build the applications, each on the event store its URL names."""
    container = Container(
        ledger=LedgerApplication(env=eventstore_env(store_urls["ledger"])),
        orders=OrdersApplication(env=eventstore_env(store_urls["orders"])),
        compliance=ComplianceApplication(env=eventstore_env(store_urls["compliance"])),
    )
    container.ledger.transfer_deadline_seconds = saga_deadline_seconds
    container.orders.saga_deadline_seconds = saga_deadline_seconds
    container.orders.payments = container.ledger  # orders pay through the ledger's use cases
    return container


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
