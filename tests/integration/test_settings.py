"""Production settings pass Django's deployment checks; the schema is valid; no secret ships."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import server_env

ROOT = Path(__file__).resolve().parents[2]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = server_env(tmp_path, database=None, nats_url=None)
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-production-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="bank.example",
        EVENTBANK_BEHIND_TLS="1",
    )
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = server_env(tmp_path, database=None, nats_url=None)
    env.update(DJANGO_DEBUG="0", EVENTBANK_REQUIRE_SECRET_KEY="1")
    env.pop("DJANGO_SECRET_KEY", None)
    result = manage(env, "check")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_the_openapi_schema_validates_without_warnings(tmp_path: Path) -> None:
    env = server_env(tmp_path, database=None, nats_url=None)
    result = manage(
        env, "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml")
    )
    assert result.returncode == 0, result.stderr


def test_no_secret_key_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert "secret_key" not in {Path(p).name for p in tracked}
    assert not any(p.startswith("var/") for p in tracked)


def settings_of(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    """``expression`` evaluated in ``config.settings`` as a process with ``env`` loads them."""
    return subprocess.run(
        [sys.executable, "-c", f"import config.settings as s; print(repr(({expression})))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_replica_url_adds_the_replica_alias_and_its_router(tmp_path: Path) -> None:
    env = server_env(tmp_path, database="postgresql://app@primary:5432/bank", nats_url=None)
    assert settings_of(env, "sorted(s.DATABASES), getattr(s, 'DATABASE_ROUTERS', [])").stdout == (
        "(['default'], [])\n"
    )
    env["DATABASE_REPLICA_URL"] = "postgresql://app@standby:5433/bank?sslmode=require"
    result = settings_of(
        env, "s.DATABASES['replica']['HOST'], s.DATABASES['replica']['OPTIONS'], s.DATABASE_ROUTERS"
    )
    assert result.stdout == (
        "('standby', {'connect_timeout': 5, 'sslmode': 'require'}, "
        "['config.routers.ReplicaRouter'])\n"
    ), result.stderr


def test_a_replica_of_sqlite_is_refused(tmp_path: Path) -> None:
    env = server_env(tmp_path, database=None, nats_url=None)
    env["DATABASE_REPLICA_URL"] = "postgresql://app@standby:5433/bank"
    result = settings_of(env, "s.DATABASES")
    assert result.returncode != 0 and "DATABASE_REPLICA_URL names a PostgreSQL" in result.stderr
