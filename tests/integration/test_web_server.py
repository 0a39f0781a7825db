"""The production web server (``ops/web_server.py``) as real processes: granian's workers
serving an app that answers with their process id (behind the door ``config.asgi`` puts Django
behind), stopped, killed and replaced the ways production stops, kills and replaces them, and
sent bodies too slowly or too large."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from messaging.embedded import free_port
from ops.web_server import GRACE_SECONDS, PARENT_CHECK_SECONDS
from tests.integration.conftest import ROOT
from tests.support import wait_for
from tests.testapp.pid_asgi import MAX_BODY

PID_APP = "tests.testapp.pid_asgi:application"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> set[int]:
        """The server's worker processes: its children still running (not zombies)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split() if running(int(pid))}
        except FileNotFoundError:  # the server itself is gone
            return set()

    def answering_pid(self, path: str = "/") -> int:
        """GET ``path`` on a new connection; the pid of the worker that answered."""
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            client.request("GET", path)
            response = client.getresponse()
            assert response.status == 200
            return int(response.read())
        finally:
            client.close()


def running(pid: int) -> bool:
    try:  # a process may end between any two looks at it: each look may find it gone
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped; it awaits its reaping


@dataclass
class Answers:
    """When each of a stream of requests, one after another, got its answer."""

    times: list[float] = field(default_factory=list)

    def longest_silence(self, until: float) -> float:
        """The longest stretch with no answer, from the first answer to ``until``."""
        times = [*self.times, until]
        return max(later - earlier for earlier, later in itertools.pairwise(times))


@contextmanager
def asking(port: int) -> Iterator[Answers]:
    """A client asking ``port`` again and again, each request on a new connection, until the
    block ends; a refused or reset connection is no answer."""
    answers, stop = Answers(), threading.Event()

    def ask() -> None:
        while not stop.is_set():
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                client.request("GET", "/")
                if client.getresponse().status == 200:
                    answers.times.append(time.monotonic())
            except OSError:
                stop.wait(0.02)  # refused: the next try soon, not in a busy loop
            finally:
                client.close()

    thread = threading.Thread(target=ask)
    thread.start()
    wait_for(lambda: answers.times, what="a first answer")
    try:
        yield answers
    finally:
        stop.set()
        thread.join(10)


def refuses(port: int) -> bool:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        client.connect()
    except ConnectionRefusedError:
        return True
    finally:
        client.close()
    return False


def connected(port: int) -> bool:
    """Whether a client holds an established connection to ``port`` (from /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        _, local, _, state, *_ = line.split()
        if state == "01" and int(local.split(":")[1], 16) == port:  # 01: ESTABLISHED
            return True
    return False


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``start(port=None)``: the web server with two workers serving the pid app, ready."""
    started: list[Server] = []

    def start(port: int | None = None, env: dict[str, str] | None = None) -> Server:
        port = port or free_port()
        log = tmp_path / f"server-{len(started)}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.web_server", "--port", str(port), "--workers", "2",
             "--app", PID_APP],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), **(env or {})},
            stdout=log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        server = Server(process, port, log)
        started.append(server)
        wait_for(lambda: log.read_text().count("Started worker-") == 2, timeout=30, what="workers")
        return server

    yield start
    for server in started:
        leftovers = server.workers()
        server.process.kill()
        server.process.wait(30)
        for pid in leftovers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_both_workers_take_connections(start_server: Callable[..., Server]) -> None:
    """Eight clients with slow requests in flight at once are served by both workers, not
    queued on one."""
    server = start_server()
    answered: set[int] = set()
    pids: list[int] = []

    def ask() -> None:
        pids.append(server.answering_pid("/?sleep=0.3"))

    for _ in range(5):  # each round of eight has been seen split 2/6 at worst, never 0/8
        pids.clear()
        clients = [threading.Thread(target=ask) for _ in range(8)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        assert len(pids) == 8
        answered |= set(pids)
        if len(answered) == 2:
            break
    assert answered == server.workers()


def test_workers_stop_when_their_server_is_killed(start_server: Callable[..., Server]) -> None:
    """SIGKILL leaves the server no moment to stop its workers: they notice their parent is gone
    and stop themselves, freeing the port for the server that replaces it."""
    server = start_server()
    workers = server.workers()
    assert len(workers) == 2

    server.process.kill()
    server.process.wait(30)
    # CI once found the port still open just after both workers looked stopped: a worker's main
    # thread can show as a zombie while its other threads still hold the socket, exiting.
    wait_for(
        lambda: not any(running(pid) for pid in workers) and refuses(server.port),
        timeout=10 * PARENT_CHECK_SECONDS,
        what="the orphaned workers to stop and free the port",
    )

    replacement = start_server(port=server.port)
    assert replacement.answering_pid() in replacement.workers()


def test_sigterm_lets_a_request_in_flight_finish(start_server: Callable[..., Server]) -> None:
    """The server stops on SIGTERM (what docker and run_all send), but the request a worker is
    serving still gets its answer."""
    server = start_server()
    workers = server.workers()
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(server.answering_pid("/?sleep=2")))
    slow.start()
    wait_for(lambda: connected(server.port), timeout=5, what="the request to be sent")
    time.sleep(0.3)  # and read by a worker, which then sleeps for two seconds

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(GRACE_SECONDS + 10) == 0
    slow.join()
    assert len(answers) == 1 and answers[0] in workers
    assert refuses(server.port)


def test_a_killed_worker_is_replaced(start_server: Callable[..., Server]) -> None:
    server = start_server()
    first = server.workers()
    victim = min(first)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int]:
        now = server.workers()
        return now if len(now) == 2 and victim not in now else set()

    workers = wait_for(replaced, timeout=30, what="a new worker")
    assert "Respawning worker" in server.log.read_text()
    for _ in range(10):
        assert server.answering_pid() in workers


def replacement(server: Server, before: set[int]) -> set[int]:
    """The worker that took the place of one of ``before``, once two serve again."""
    workers = server.workers()
    return workers - before if len(workers) == 2 else set()


def test_a_worker_killed_again_and_again_just_after_its_respawn_never_stops_the_server(
    start_server: Callable[..., Server],
) -> None:
    """granian takes a worker that dies within 5.5 s of its respawn for a crash loop, and exited,
    stopping the other worker too: the web was down until the supervisor started it again. A
    kill is not a crash: the killed worker is replaced every time, the other serves meanwhile,
    and no moment passes without an answer for as long as a second."""
    server = start_server()
    victim = min(server.workers())
    with asking(server.port) as answers:
        for _ in range(3):
            before = server.workers()
            os.kill(victim, signal.SIGKILL)
            (victim,) = wait_for(
                partial(replacement, server, before), timeout=30, what="the worker's replacement"
            )
        wait_for(lambda: server.answering_pid() in server.workers(), what="an answer")
    assert server.process.poll() is None, server.log.read_text()
    assert answers.longest_silence(until=time.monotonic()) < 1.0
    assert "crash loop" not in server.log.read_text()


def test_a_worker_whose_app_does_not_load_stops_the_server(tmp_path: Path) -> None:
    """A worker failing on its own, again as soon as it is respawned, is a crash loop: the
    server exits, and its supervisor's backoff takes over (``ops.supervisor``)."""
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.web_server", "--port", str(free_port()), "--workers", "2",
         "--app", "tests.testapp.no_such_module:application"],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.wait(60) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Worker crash loop detected" in log.read_text()


def test_a_worker_imports_the_views_before_its_first_request() -> None:
    """``config.wsgi``, what each worker loads as it starts, imports the URLconf and the views it
    names, so no user waits through that import on a worker's first request."""
    modules = ("config.urls", "ledger.apis")
    probe = f"import sys, config.wsgi; print(*(m in sys.modules for m in {modules!r}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == ["True", "True"]


def slow_body(port: int, sent: bytes, length: int) -> socket.socket:
    """A connection that announces a body of ``length`` bytes and sends only ``sent``."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
    client.sendall(head + sent)
    return client


def answer_of(client: socket.socket) -> tuple[int, dict[str, str]]:
    """The status and JSON body of the answer on ``client`` (the server closes after it)."""
    response = http.client.HTTPResponse(client)
    response.begin()
    return response.status, json.loads(response.read())


def test_clients_that_send_their_bodies_slowly_hold_no_thread(
    start_server: Callable[..., Server],
) -> None:
    """Under granian's WSGI interface a request held a thread while its body trickled in
    (granian #728): twelve such clients, more than the two workers' eight threads, stopped the
    server. Behind the door the event loop waits for a body, and a thread takes the request only
    once it is whole: other requests are answered meanwhile, a slow body is refused with 408
    once its deadline passes, and one that arrives in the end is served."""
    server = start_server(env={"EVENTBANK_REQUEST_BODY_TIMEOUT": "4"})
    slow = [slow_body(server.port, b'{"a": 1', 100) for _ in range(12)]
    late = slow_body(server.port, b"x" * 50, 100)
    started = time.monotonic()
    for _ in range(10):
        assert server.answering_pid() in server.workers()
    assert time.monotonic() - started < 3  # every answer came while the bodies were awaited
    late.sendall(b"y" * 50)
    response = http.client.HTTPResponse(late)
    response.begin()
    assert int(response.read().split()[1]) == 100  # the pid app read the whole body
    for client in slow:
        status, body = answer_of(client)
        assert (status, body["code"]) == (408, "body_too_slow"), body
        assert body["message"] == "The request body did not arrive within 4 s."
        client.close()
    late.close()


def test_a_body_larger_than_the_limit_is_refused_before_any_thread_reads_it(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    announced = slow_body(server.port, b"", MAX_BODY + 1)  # refused on its Content-Length
    assert answer_of(announced)[0] == 413
    chunked = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    chunked.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(MAX_BODY // 100 + 1):  # no length said: refused once past the limit
        chunked.sendall(b"64\r\n" + b"z" * 100 + b"\r\n")
    status, body = answer_of(chunked)
    assert (status, body["code"]) == (413, "body_too_large"), body
    assert body == {
        "code": "body_too_large",
        "message": f"The request body is larger than {MAX_BODY} bytes.",
        "details": {},
    }
    within = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    within.putrequest("POST", "/")
    within.putheader("Transfer-Encoding", "chunked")
    within.endheaders()
    within.send(b"5\r\nhello\r\n0\r\n\r\n")  # a chunked body within it reaches the app
    response = within.getresponse()
    assert response.read().split()[1] == b"5"
