"""Servers in clusters of the tests' own, to be stopped and started: a PostgreSQL primary with a
streaming standby. The whole system runs on them as ``make run`` starts it (the e2e fixture)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid4

import psycopg
import pytest

from messaging.embedded import free_port
from tests.conftest import PrivatePostgres, as_postgres, new_postgres, postgres_data_dir
from tests.e2e.conftest import RunningSystem, Systems
from tests.support import wait_for


@dataclass(frozen=True)
class ReplicatedPostgres:
    """A primary and a hot standby that streams its WAL (``pg_basebackup -R``)."""

    primary: PrivatePostgres
    standby: PrivatePostgres

    def create_database(self, name: str) -> None:
        """A new database on the primary, once the standby has it too."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def replicated() -> bool:
            with psycopg.connect(self.standby.url(), autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                return found.fetchone() is not None

        wait_for(replicated, timeout=20, what=f"the standby to have database {name}")

    def standby_sql(self, statement: str, database: str = "postgres") -> None:
        with psycopg.connect(self.standby.url(database), autocommit=True) as conn:
            conn.execute(statement)


@pytest.fixture(scope="module")
def replicated_postgres() -> Iterator[ReplicatedPostgres]:
    """Skipped where PostgreSQL's server binaries are not installed."""
    primary = new_postgres("wal_level=replica", "max_wal_senders=4")
    standby = PrivatePostgres(
        primary.bin_dir, postgres_data_dir(), free_port(), ("hot_standby=on",)
    )
    try:
        subprocess.run(
            [*as_postgres(), str(primary.bin_dir / "pg_basebackup"), "-D", str(standby.data_dir),
             "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
             "-R",  # standby.signal and primary_conninfo: it starts as a standby of the primary
             "-X", "stream", "--checkpoint=fast", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        standby.start()
        yield ReplicatedPostgres(primary, standby)
    finally:
        standby.discard()
        primary.discard()


@pytest.fixture(scope="module")
def replica_system(
    replicated_postgres: ReplicatedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """``run_all`` on the primary, reading projections from the standby; one for the module
    (starting a system is most of such a test's time), each test with customers of its own."""
    database = f"eventbank_{uuid4().hex[:8]}"
    replicated_postgres.create_database(database)
    systems = Systems(tmp_path_factory.mktemp("replica-system"), postgres_url=None)
    try:
        yield systems.start(
            database=replicated_postgres.primary.url(database),
            extra_env={
                "DATABASE_REPLICA_URL": replicated_postgres.standby.url(database),
                # Back to the standby soon after it returns; a paused replay's wait over soon.
                "EVENTBANK_REPLICA_RETRY_SECONDS": "1",
                "EVENTBANK_READ_YOUR_WRITES_TIMEOUT": "1",
            },
        )
    finally:
        systems.stop()


@pytest.fixture(scope="module")
def operator(replica_system: RunningSystem) -> str:
    """A staff user's token on ``replica_system``."""
    return replica_system.operator_token()
