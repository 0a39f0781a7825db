"""Commands find the embedded nats-server: with NATS_URL unset they use the server that records
its URL in the data directory while it runs, and say clearly when none does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from messaging.connection import NatsNotFound, nats_url
from messaging.embedded import URL_FILE, NatsServer, free_port, running_url


def test_a_running_server_is_found_in_its_store_directory_and_forgotten_when_stopped(
    tmp_path: Path,
) -> None:
    server = NatsServer(tmp_path / "nats").start()
    try:
        assert running_url(tmp_path / "nats") == server.url
    finally:
        server.stop()
    assert running_url(tmp_path / "nats") is None
    assert not (tmp_path / "nats" / URL_FILE).exists()


def test_the_url_of_a_killed_server_is_not_taken_for_a_running_one(tmp_path: Path) -> None:
    (tmp_path / URL_FILE).write_text(f"nats://127.0.0.1:{free_port()}\n")  # nothing listens
    assert running_url(tmp_path) is None
    assert running_url(tmp_path / "never-started") is None


def test_nats_url_is_the_setting_then_the_embedded_server(settings: Any, tmp_path: Path) -> None:
    settings.NATS_URL, settings.NATS_EMBEDDED_DIR = "", tmp_path / "nats"
    with pytest.raises(NatsNotFound, match="no embedded nats-server is running"):
        nats_url()
    server = NatsServer(tmp_path / "nats").start()
    try:
        assert nats_url() == server.url
        settings.NATS_URL = "nats://elsewhere:4222"
        assert nats_url() == "nats://elsewhere:4222"
    finally:
        server.stop()


@pytest.mark.parametrize(
    "command", [["setup_nats"], ["relay_events", "--once"], ["run_projections", "--once"]]
)
def test_a_command_with_no_nats_says_so_in_one_line(
    settings: Any, tmp_path: Path, command: list[str]
) -> None:
    settings.NATS_URL, settings.NATS_EMBEDDED_DIR = "", tmp_path / "nats"
    with pytest.raises(NatsNotFound, match="start it with `make run`, or set NATS_URL"):
        call_command(*command)
