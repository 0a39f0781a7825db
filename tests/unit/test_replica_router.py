"""Where ``config/routers.py`` sends each query with a read replica: a client's reads of the read
models to the standby, everything else to the primary; the primary while the standby is away.
No server: whether the standby answers is a fake connection's say."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.db.models import Model
from rest_framework.authtoken.models import Token

from api.consistency import reading_projections
from api.models import IdempotencyRecord, PasswordAttemptBudget
from config import routers
from config.routers import REPLICA, ReplicaRouter
from messaging.models import DeadLetter, RelayPosition, SubscriberPosition
from projections.models import (
    AccountSummary,
    AlertSummary,
    LedgerEntry,
    OrderSummary,
    ProductStock,
    ProfileSummary,
    TransferSummary,
)

READ_MODELS = [
    AccountSummary, LedgerEntry, TransferSummary, OrderSummary, ProductStock, AlertSummary,
    ProfileSummary, SubscriberPosition,
]  # fmt: skip
PRIMARY_ONLY = [
    get_user_model(), Token, Session, IdempotencyRecord, PasswordAttemptBudget, RelayPosition,
    DeadLetter,
]  # fmt: skip


class FakeReplica:
    """A replica connection that answers, or not, and counts how often it was tried."""

    def __init__(self, answers: bool) -> None:
        self.answers = answers
        self.tried = 0

    def close_if_health_check_failed(self) -> None:
        pass

    def ensure_connection(self) -> None:
        self.tried += 1
        if not self.answers:
            raise OperationalError("connection refused")


@pytest.fixture
def replica(monkeypatch: pytest.MonkeyPatch, settings: Any) -> FakeReplica:
    fake = FakeReplica(answers=True)
    monkeypatch.setattr(routers, "connections", {REPLICA: fake})
    monkeypatch.setattr(routers, "_replica_away_until", 0.0)
    settings.REPLICA_RETRY_SECONDS = 60
    return fake


router = ReplicaRouter()


@pytest.mark.parametrize("model", READ_MODELS + PRIMARY_ONLY)
def test_outside_a_clients_read_everything_is_read_on_the_primary(
    model: type[Model], replica: FakeReplica
) -> None:
    # The subscribers applying events, the admin, the audit, the console: they read what they
    # are about to change, or must see it whole.
    assert router.db_for_read(model) == "default"
    assert replica.tried == 0


@pytest.mark.parametrize("model", READ_MODELS)
def test_a_clients_read_of_a_read_model_goes_to_the_replica(
    model: type[Model], replica: FakeReplica
) -> None:
    with reading_projections():
        assert router.db_for_read(model) == REPLICA


@pytest.mark.parametrize("model", PRIMARY_ONLY)
def test_auth_sessions_keys_throttles_and_the_relay_stay_on_the_primary(
    model: type[Model], replica: FakeReplica
) -> None:
    with reading_projections():
        assert router.db_for_read(model) == "default"


@pytest.mark.parametrize("model", READ_MODELS + PRIMARY_ONLY)
def test_every_write_goes_to_the_primary(model: type[Model], replica: FakeReplica) -> None:
    with reading_projections():
        assert router.db_for_write(model) == "default"
    assert router.db_for_write(model) == "default"


@pytest.mark.parametrize("app_label", ["projections", "messaging", "auth", "api", "ledger"])
def test_only_the_primary_is_migrated(app_label: str) -> None:
    assert router.allow_migrate("default", app_label) is True
    assert router.allow_migrate(REPLICA, app_label) is False


def test_a_read_keeps_the_database_its_first_query_chose(replica: FakeReplica) -> None:
    # The wait's position and the rows after it come from one database: a position read on
    # the primary must never vouch for rows read on a replica that lags.
    with reading_projections() as reads:
        assert router.db_for_read(SubscriberPosition) == REPLICA
        replica.answers = False
        assert router.db_for_read(AccountSummary) == REPLICA
        assert reads.alias == REPLICA
    assert replica.tried == 1  # asked once per read, not once per query


def test_a_read_that_found_the_replica_away_stays_on_the_primary(replica: FakeReplica) -> None:
    replica.answers = False
    with reading_projections():
        assert router.db_for_read(SubscriberPosition) == "default"
        replica.answers = True
        assert router.db_for_read(AccountSummary) == "default"


def test_an_away_replica_is_tried_again_only_after_the_retry_interval(
    replica: FakeReplica, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(routers.time, "monotonic", lambda: now[0])
    replica.answers = False
    for _ in range(3):
        with reading_projections():
            assert router.db_for_read(OrderSummary) == "default"
    assert replica.tried == 1  # the other reads did not pay for trying it

    replica.answers = True
    now[0] += settings.REPLICA_RETRY_SECONDS - 1
    with reading_projections():
        assert router.db_for_read(OrderSummary) == "default"
    now[0] += 1
    with reading_projections():
        assert router.db_for_read(OrderSummary) == REPLICA
    assert replica.tried == 2


def test_scopes_nest_and_end(replica: FakeReplica) -> None:
    with reading_projections():
        with reading_projections():
            assert router.db_for_read(AccountSummary) == REPLICA
        assert router.db_for_read(AccountSummary) == REPLICA
    assert router.db_for_read(AccountSummary) == "default"
