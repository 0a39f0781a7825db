"""Fixtures every layer shares: fresh event stores, the container, NATS servers, API users.

Event stores are fresh per test that asks for ``store_urls`` or a ``container``, and fresh per
run for the rest (``run_stores``). On SQLite each context gets files in the test's tmp dir; on
PostgreSQL (``TEST_POSTGRES_URL``, or ``DATABASE_URL`` when it names PostgreSQL) each test gets
new schemas in a database of its own, ``eventbank_test_stores`` — never the database that
``DATABASE_URL`` names, whose tables pytest-django keeps in ``test_<name>`` anyway.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import container as composition
from config.container import Container, build_container
from config.stores import is_postgres
from messaging.embedded import NatsServer, free_port

CONTEXTS = ("ledger", "orders", "compliance", "customers")
STORES_DATABASE = "eventbank_test_stores"


def postgres_server_url() -> str | None:
    """The PostgreSQL server the suite may use, or None for the SQLite leg."""
    for name in ("TEST_POSTGRES_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url and is_postgres(url):
            return url
    return None


def database_url(server_url: str, database: str, query: str = "") -> str:
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{database}{'?' + query if query else ''}"


def admin_connection(server_url: str) -> psycopg.Connection[Any]:
    """An autocommit connection for CREATE/DROP DATABASE and SCHEMA."""
    return psycopg.connect(database_url(server_url, "postgres"), autocommit=True)


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    return postgres_server_url()


@pytest.fixture(scope="session")
def stores_database(postgres_url: str | None) -> str | None:
    """A database for the tests' event stores (created once; schemas inside are per test)."""
    if postgres_url is None:
        return None
    with admin_connection(postgres_url) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (STORES_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{STORES_DATABASE}"')
    return database_url(postgres_url, STORES_DATABASE)


@contextmanager
def fresh_stores(directory: Path, stores_database: str | None) -> Iterator[dict[str, str]]:
    """URLs of one new, empty event store per context; dropped afterwards."""
    if stores_database is None:
        directory = Path(tempfile.mkdtemp(dir=directory))
        yield {c: f"sqlite:///{directory / f'{c}.sqlite3'}" for c in CONTEXTS}
        return
    schema = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(stores_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield dict.fromkeys(CONTEXTS, f"{stores_database}?schema={schema}")
    finally:
        with psycopg.connect(stores_database, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session", autouse=True)
def run_stores(
    tmp_path_factory: pytest.TempPathFactory, stores_database: str | None
) -> Iterator[dict[str, str]]:
    """The stores of the process's default container, for tests that do not ask for a
    ``container``: new for the run, so nothing a test writes outlives it. (On PostgreSQL they
    would otherwise be the ``DATABASE_URL`` database itself, which keeps what earlier runs
    wrote; an idempotency key's operation id, derived from a user id that the next run's test
    database hands out again, then named an old run's batch.)"""
    from django.conf import settings

    with fresh_stores(tmp_path_factory.mktemp("stores"), stores_database) as urls:
        default = settings.EVENT_STORE_URLS
        composition.close_container()  # none should be built yet; if one is, not on these
        settings.EVENT_STORE_URLS = urls
        try:
            yield urls
        finally:
            composition.close_container()
            settings.EVENT_STORE_URLS = default


@pytest.fixture
def store_urls(tmp_path: Path, stores_database: str | None) -> Iterator[dict[str, str]]:
    """One fresh, empty event store per context."""
    with fresh_stores(tmp_path, stores_database) as urls:
        yield urls


@pytest.fixture
def container(store_urls: dict[str, str]) -> Iterator[Container]:
    """The applications on fresh stores, installed as the process's container."""
    built = build_container(store_urls)
    composition.use(built)
    yield built
    composition.use(None)
    built.close()


@pytest.fixture
def ledger(container: Container) -> Any:
    return container.ledger


# --- NATS ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A private nats-server for the session (tests that kill one use ``private_nats``)."""
    server = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of this test's own, free to be killed and restarted."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


# --- API users -----------------------------------------------------------------------------


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    def make(username: str | None = None, *, staff: bool = False) -> Any:
        username = username or f"user-{uuid4().hex[:8]}"
        return get_user_model().objects.create_user(
            username=username, password="correct horse battery staple", is_staff=staff
        )

    return make


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    """An API client that authenticates as the given user with a real token."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    return make_user("operator", staff=True)


@pytest.fixture
def staff_client(staff: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(staff)


# --- PostgreSQL clusters of a test's own ---------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb/pg_ctl), so it can be stopped and started."""

    bin_dir: Path
    data_dir: Path
    port: int
    settings: tuple[str, ...] = ()  # more of the server's settings, e.g. "wal_level=replica"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*as_postgres(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w", *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} "
            "-c max_connections=200"  # a whole system, its tools and the test, all at once
        )
        options += "".join(f" -c {setting}" for setting in self.settings)
        self.pg_ctl("-o", options, "-l", str(self.data_dir / "log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def discard(self) -> None:
        """Stopped at once and its files removed (the end of its test)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's server binaries; the test is skipped without them."""
    bin_dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bin_dirs or not shutil.which("runuser"):
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    return Path(bin_dirs[-1])


def postgres_data_dir() -> Path:
    """An empty directory the postgres user owns (initdb and pg_basebackup write into it)."""
    try:
        postgres_user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("needs a postgres system user to run initdb")
    data_dir = Path(tempfile.mkdtemp(prefix="eventbank-pg-"))
    os.chown(data_dir, postgres_user.pw_uid, postgres_user.pw_gid)
    return data_dir


def new_postgres(*settings: str) -> PrivatePostgres:
    """A new cluster (initdb), started on a free port; ``discard()`` it afterwards."""
    bin_dir = postgres_bin_dir()
    cluster = PrivatePostgres(bin_dir, postgres_data_dir(), free_port(), settings)
    subprocess.run(
        [*as_postgres(), str(bin_dir / "initdb"), "-D", str(cluster.data_dir), "-U", "postgres",
         "-A", "trust", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    cluster.start()
    return cluster


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """Skipped where PostgreSQL's server binaries are not installed."""
    cluster = new_postgres()
    yield cluster
    cluster.discard()
