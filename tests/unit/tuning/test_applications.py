"""``tuning.applications``: a tuned application is its context's, under another class: the same
name (and so the same tables), the core's methods first, the mixins just above the library."""

from __future__ import annotations

from eventsourcing.application import Application

from kernel.application import EventSourcedApplication
from ledger.application import LedgerApplication
from orders.application import OrdersApplication
from tuning.applications import MIXINS, tuned


def test_a_tuned_application_keeps_its_name_and_so_its_tables() -> None:
    for kind in (LedgerApplication, OrdersApplication):
        assert tuned(kind, MIXINS).name == kind.name


def test_the_mixins_sit_between_the_core_and_the_library() -> None:
    order = tuned(LedgerApplication, MIXINS).__mro__
    core, library = order.index(EventSourcedApplication), order.index(Application)
    assert all(core < order.index(mixin) < library for mixin in MIXINS.values())


def test_no_module_chosen_is_the_context_itself() -> None:
    assert tuned(LedgerApplication, []) is LedgerApplication
