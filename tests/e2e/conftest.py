"""The running system, as `make run` starts it: `run_all` in a subprocess, spoken to over HTTP.

Each system gets its own data dir (SQLite files, the embedded NATS store) and, on the
PostgreSQL leg, a database of its own, created here and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from config.container import Container
from messaging.embedded import free_port
from tests.conftest import admin_connection, database_url
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_PASSWORD = "operator-pass-42"
SERVER_ENV_NAMES = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "LEDGER_EVENTSTORE_URL",
    "ORDERS_EVENTSTORE_URL",
    "COMPLIANCE_EVENTSTORE_URL",
    "CUSTOMERS_EVENTSTORE_URL",
    "NATS_URL",
    "EVENTBANK_NATS_TLS_CA",
    "EVENTBANK_NATS_TLS_CERT",
    "EVENTBANK_NATS_TLS_KEY",
    "EVENTBANK_NATS_TLS_HANDSHAKE_FIRST",
    "EVENTBANK_SEED_DEMO",  # a test asks for the demo explicitly
)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RunningSystem:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(
                    response.status, json.loads(response.read() or b"null"), dict(response.headers)
                )
        except urllib.error.HTTPError as error:
            return Answer(error.code, json.loads(error.read() or b"null"), dict(error.headers))

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("POST", path, body if body is not None else {}, **kwargs)

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        """Run a management command against this system's databases, as an operator would."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def customer_token(self, username: str, password: str) -> str:
        """A new customer, made as an operator makes one, logged in."""
        self.manage("create_customer", username, "--password", password)
        return self.token_for(username, password)

    def operator_token(self) -> str:
        """A new staff user ``operator`` (Django's createsuperuser), logged in."""
        email = "op@example.com"
        self.manage(
            *("createsuperuser", "--no-input", "--username", "operator", "--email", email),
            extra_env={"DJANGO_SUPERUSER_PASSWORD": OPERATOR_PASSWORD},
        )
        return self.token_for("operator", OPERATOR_PASSWORD)

    def funded_accounts(self, customer: str, operator: str, amount: str) -> tuple[str, str]:
        """Two new accounts of the ``customer`` token's; the operator deposits ``amount`` into
        the first. Their ids."""
        first, second = (self.post("/api/accounts/", {}, token=customer) for _ in range(2))
        assert first.status == second.status == 201, (first.body, second.body)
        deposit = self.post(
            f"/api/accounts/{first.body['id']}/deposits/", {"amount": amount}, token=operator
        )
        assert deposit.status == 201, deposit.body
        return first.body["id"], second.body["id"]

    def token_for(self, username: str, password: str) -> str:
        answer = self.post("/api/auth/token/", {"username": username, "password": password})
        assert answer.status == 200, answer.body
        return answer.body["token"]

    def child_pid(self, name: str) -> int:
        """The pid of the newest child ``run_all`` started under this name."""
        pids = re.findall(rf"started {re.escape(name)} \(pid (\d+)\)", self.log.read_text())
        return int(pids[-1])


def server_env(data_dir: Path, *, database: str | None, nats_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_NAMES}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        EVENTBANK_DATA_DIR=str(data_dir),
        EVENTBANK_BEHIND_TLS="0",
        EVENTBANK_SAGA_RECOVERY_INTERVAL="1",
        PYTHONUNBUFFERED="1",
    )
    if database:
        env["DATABASE_URL"] = database
    if nats_url:
        env["NATS_URL"] = nats_url
    return env


class Systems:
    """Starts whole systems in ``directory``; ``stop()`` stops them all and drops the databases
    it made (on the PostgreSQL leg, each system gets one of its own unless given one)."""

    def __init__(self, directory: Path, postgres_url: str | None) -> None:
        self.directory, self.postgres_url = directory, postgres_url
        self.started: list[RunningSystem] = []
        self.databases: list[str] = []

    def start(
        self,
        *,
        nats_url: str | None = None,
        database: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> RunningSystem:
        if database is None and self.postgres_url:
            name = f"eventbank_e2e_{uuid4().hex[:10]}"
            with admin_connection(self.postgres_url) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.databases.append(name)
            database = database_url(self.postgres_url, name)
        data_dir = self.directory / f"system-{len(self.started)}"
        env = {**server_env(data_dir, database=database, nats_url=nats_url), **(extra_env or {})}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        port = free_port()
        log = self.directory / f"run_all-{len(self.started)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_all", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        system = RunningSystem(f"http://127.0.0.1:{port}", env, process, log)
        self.started.append(system)

        def answers() -> bool:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                return system.get("/healthz").status in (200, 503)
            except OSError:
                return False

        wait_for(answers, timeout=60, what="the web server to answer")
        return system

    def stop(self) -> None:
        for system in self.started:
            if system.process.poll() is None:
                os.killpg(system.process.pid, signal.SIGTERM)
                try:
                    system.process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(system.process.pid, signal.SIGKILL)
                    system.process.wait()
        if self.databases and self.postgres_url:
            with admin_connection(self.postgres_url) as conn:
                for name in self.databases:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def start_system(
    tmp_path: Path, postgres_url: str | None
) -> Iterator[Callable[..., RunningSystem]]:
    """Start the whole system; stopped (and its database dropped) when the test ends."""
    systems = Systems(tmp_path, postgres_url)
    yield systems.start
    systems.stop()


# --- A real browser --------------------------------------------------------------------------

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# Debian's chromium and chromium-driver (.ci/run installs them), never a downloaded browser.
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="Debian's chromium is not here"
)


@contextmanager
def chromium(width: int, height: int, *arguments: str) -> Iterator[Any]:
    """Debian's chromium, headless, driven by selenium; ``arguments`` are chromium's own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", f"--window-size={width},{height}"):
        options.add_argument(argument)
    for argument in arguments:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until_caught_up(container: Container, database: str, timeout: float = 120) -> None:
    """Until a running system's relay has published, and every subscriber applied, all that its
    stores (``container``) hold now; ``database`` is the one its positions are kept in."""
    heads = {source: app.max_position() for source, app in container.applications.items()}

    def caught_up() -> bool:
        with psycopg.connect(database, autocommit=True) as conn:
            relayed: dict[str, int] = dict(
                conn.execute("SELECT source, position FROM messaging_relayposition").fetchall()
            )
            subscribers = conn.execute(
                "SELECT name, source_positions FROM messaging_subscriberposition"
            ).fetchall()
        if any(relayed.get(s, 0) < p for s, p in heads.items()):
            return False
        return all(
            positions.get(s, 0) >= p
            for name, positions in subscribers
            if not name.endswith(":rebuild")
            for s, p in heads.items()
        )

    wait_for(caught_up, timeout=timeout, interval=0.5, what="the relay and subscribers to catch up")
