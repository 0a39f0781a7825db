"""The production web server's settings (``config/gunicorn.py``), on a real gunicorn."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import gunicorn
from messaging.embedded import free_port, wait_until_listening
from tests.integration.conftest import ROOT
from tests.support import wait_for


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[int]:
    """gunicorn with the production config and one worker, serving a pid-answering app."""
    port, log = free_port(), tmp_path / "gunicorn.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.testapp.pid_wsgi:application",
         "--config", "python:config.gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )  # fmt: skip
    try:
        wait_until_listening(port)
        wait_for(lambda: "Booting worker" in log.read_text(), timeout=30)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def waiting_to_be_accepted(port: int) -> int:
    """Connections in the listening socket's accept queue: made, but taken by no worker yet."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            return int(queues.split(":")[1], 16)
    raise AssertionError(f"nothing listens on {port}")


def test_a_worker_takes_no_more_connections_than_its_threads_plus_two(one_worker: int) -> None:
    """Eight clients, each with a slow request in flight: the worker takes six connections (four
    served, two waiting for a thread) and leaves two in the listen queue, where a worker with
    room would take them, rather than queueing them all on its own core."""
    clients = [http.client.HTTPConnection("127.0.0.1", one_worker, timeout=30) for _ in range(8)]
    for client in clients:
        client.connect()
        client.request("GET", "/?sleep=2")

    queued = 8 - gunicorn.worker_connections  # two
    wait_for(lambda: waiting_to_be_accepted(one_worker) == queued, timeout=1.8, what="a queue")
    answered = []
    for client in clients:  # the queued two are taken as the first answers free their places
        response = client.getresponse()
        answered.append(response.status)
        response.read()
        client.close()
    assert answered == [200] * 8
