"""Fixtures for tests that run the messaging side: a stream of their own, and the environment
for running management commands as separate processes against the test's databases."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from config import container as composition
from config.container import Container, build_container
from messaging.embedded import NatsServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Bus:
    """A NATS server and a stream (with its own subject prefix) for one test."""

    server: NatsServer
    stream: str
    prefix: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def orders_store_down(store_urls: dict[str, str], tmp_path: Path) -> Iterator[Container]:
    """The process's container with the orders event store unreachable (its SQLite file lies
    under a path that is a file), the other stores fresh."""
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    broken = build_container({**store_urls, "orders": f"sqlite:///{not_a_directory}/x.sqlite3"})
    composition.use(broken)
    yield broken
    composition.use(None)
    broken.close()


@pytest.fixture
def admin_client(staff: Any) -> Client:
    """The admin as staff use it: the staff user ``operator``, a superuser, logged in with a
    session (it replaces pytest-django's fixture of that name, which makes a user of its own)."""
    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def bus(settings: Any, nats_server: NatsServer) -> Bus:
    """A stream of this test's own on the session's server (streams may not share subjects)."""
    tag = uuid4().hex[:10]
    settings.NATS_URL = nats_server.url
    settings.NATS_STREAM, settings.SUBJECT_PREFIX = f"T{tag}", f"t{tag}"
    return Bus(nats_server, settings.NATS_STREAM, settings.SUBJECT_PREFIX)


@pytest.fixture
def private_bus(settings: Any, private_nats: NatsServer) -> Bus:
    """Like ``bus``, on a server this test may kill."""
    settings.NATS_URL = private_nats.url
    settings.NATS_STREAM, settings.SUBJECT_PREFIX = "EVENTBANK", "eventbank"
    return Bus(private_nats, "EVENTBANK", "eventbank")


def test_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    config = connection.settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or "postgres"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host, port = config.get("HOST") or "127.0.0.1", config.get("PORT") or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{config['NAME']}"


@dataclass
class Commands:
    """Runs management commands as separate processes against this test's databases."""

    env: dict[str, str]

    def start(self, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def run(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture
def commands(store_urls: dict[str, str]) -> Commands:
    """Needs a test marked django_db(transaction=True): the child processes must see the rows."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "EVENTBANK_DATA_DIR": str(django_settings.DATA_DIR),
        "NATS_URL": django_settings.NATS_URL,
        "EVENTBANK_NATS_STREAM": django_settings.NATS_STREAM,
        "EVENTBANK_SUBJECT_PREFIX": django_settings.SUBJECT_PREFIX,
        **{f"{context.upper()}_EVENTSTORE_URL": url for context, url in store_urls.items()},
    }
    env.pop("TEST_POSTGRES_URL", None)
    return Commands(env)
