"""``make bench``: every figure beside a physical anchor measured in the same run, as a ratio.

This machine is shared and its absolute numbers drift; a ratio to something measured a moment
before on the same hardware does not drift much. Prints one table and writes
``var/bench/latest.json``. PostgreSQL (a fresh database on DATABASE_URL's server, or on the
local one) and a private nats-server with ``sync_interval: always``, as in production.

    .venv/bin/python -m bench.suite [--seconds 30] [--events 100000] [--full]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
import random
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from bench.environment import SETTINGS, fresh_database, prepare

VENDOR = prepare()

import asyncio  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.drive import CLIENTS, drive  # noqa: E402
from bench.figures import Figure  # noqa: E402
from bench.messaging import fill_store, relay_figure  # noqa: E402
from bench.orm.models import OrmAccount  # noqa: E402
from bench.projections import copy_anchor, executemany_anchor  # noqa: E402
from config.container import Container, build_container  # noqa: E402
from ledger.application import TransferInstruction  # noqa: E402
from messaging.embedded import NatsServer, free_port, wait_until_listening  # noqa: E402
from messaging.models import SubscriberPosition  # noqa: E402
from messaging.runtime import relay_events, run_subscribers  # noqa: E402
from ops.run_all import web_server  # noqa: E402
from ops.web_server import WORKERS  # noqa: E402
from projections.models import LedgerEntry  # noqa: E402
from projections.rebuild import rebuild  # noqa: E402
from projections.selectors import caught_up_to  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# --- Transfers beside pgbench, in alternated rounds ---------------------------------------------
# The machine is shared, and its speed drifts within minutes: pgbench alone moved from 1,719 to
# 1,052 TPS between two runs a quarter of an hour apart. A figure measured for 30 s after its
# anchor's 30 s carries that drift into its ratio. So pgbench, the transfers over HTTP, their
# plain-Django peer over HTTP and the transfers in-process take turns, ``ROUNDS`` times, and
# each figure is the total of its rounds beside the anchor's total: a drift moves them alike.

ROUNDS = 3
# The API's transfers, and their peer (bench/orm/): the same transfer as one database
# transaction, no event sourcing, behind the same web server, authentication and throttle.
API_TRANSFERS = "/api/transfers/"
ORM_TRANSFERS = "/bench/orm-transfers/"
# Batches: ``BATCH`` transfers a request (or a call), by ``BATCH_CLIENTS`` clients, each a
# customer of its own moving money among its own accounts, as a company's payments would.
API_BATCHES = "/api/transfer-batches/"
BATCH, BATCH_CLIENTS = 100, 4
LAG_RATE = 200  # transfers a second while the lag is measured (the target's rate)
# transfer_http_with_streams: the same clients while this many live streams are open, held by
# customers of their own (five each, the per-user limit) who watch and discard what they get.
LIVE_STREAMS, LIVE_WATCHERS = 200, 40


@dataclass
class Rounds:
    """What one figure measured, round after round."""

    latencies: list[float] = field(default_factory=list)  # one a call: a transfer, or a batch
    seconds: float = 0.0
    transfers_per_round: list[float] = field(default_factory=list)
    transfers_per_call: int = 1

    def add(self, latencies: list[float], seconds: float) -> None:
        self.latencies += latencies
        self.seconds += seconds
        self.transfers_per_round.append(
            round(len(latencies) * self.transfers_per_call / seconds, 1)
        )

    @property
    def rate(self) -> float:
        return len(self.latencies) * self.transfers_per_call / self.seconds


@dataclass
class WebRounds(Rounds):
    """Rounds over HTTP, with the CPU the web workers spent on them and how the clients split
    between the workers."""

    web_cpu: float = 0.0
    splits: list[list[int]] = field(default_factory=list)

    def web_extra(self, workers: list[int]) -> dict[str, Any]:
        """The web workers' figures, for a figure's extra; none when /proc has no workers."""
        return {
            "web_cpu_ms_per_transfer":
                round(self.web_cpu * 1000 / (len(self.latencies) * self.transfers_per_call), 2)
                if workers else None,
            "connections_per_worker": self.splits if workers else None,
        }  # fmt: skip


class PgBench:
    """TPC-B-like transactions/s at 8 clients on a scratch database, as often as asked."""

    def __init__(self) -> None:
        self.tps_per_round: list[float] = []
        self.command: list[str] | None = None
        self.how = self._prepare()

    def _prepare(self) -> str:
        if VENDOR != "postgresql":
            return "skipped: SQLite run"
        pgbench = shutil.which("pgbench")
        if pgbench is None:
            return "skipped: pgbench is not installed"
        url = urlsplit(fresh_database(os.environ["DATABASE_URL"], "eventbank_pgbench"))
        target = [
            "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", url.path.lstrip("/"),
        ]  # fmt: skip
        subprocess.run([pgbench, "-i", "-q", "-s", "10", *target], check=True, capture_output=True)
        self.command = [pgbench, "-n", "-c", str(CLIENTS), "-j", "2", *target]
        return "pgbench -s 10 -c 8 -j 2"

    def run(self, seconds: int) -> None:
        if self.command is None:
            return
        run = subprocess.run(
            [*self.command, "-T", str(seconds)], check=True, capture_output=True, text=True
        )
        found = re.search(r"tps = ([\d.]+)", run.stdout)
        if found is None:
            raise RuntimeError(f"pgbench printed no tps: {run.stdout}")
        self.tps_per_round.append(float(found.group(1)))

    @property
    def tps(self) -> float | None:
        return statistics.fmean(self.tps_per_round) if self.tps_per_round else None


def open_accounts(container: Container, owner: str, count: int) -> list[UUID]:
    ledger = container.ledger
    accounts = [ledger.open_account(owner, "EUR").id for _ in range(count)]
    for account in accounts:
        ledger.deposit(account, 10**12, f"bench-{account}")
    return accounts


@dataclass(frozen=True)
class Batcher:
    """A customer who submits batches, and its own accounts."""

    token: str
    accounts: list[UUID]


class Batches:
    """Batches of ``BATCH`` transfers at random among a customer's own accounts; each client
    thread is one of the customers, a different one from the other clients of its round."""

    def __init__(self, batchers: list[Batcher]) -> None:
        self.batchers = batchers
        self.turns = itertools.count()
        self.local = threading.local()

    def next(self, rng: random.Random) -> tuple[Batcher, list[list[UUID]]]:
        """This thread's customer, and a batch's (source, destination) pairs of its accounts."""
        if not hasattr(self.local, "batcher"):  # a new client thread
            self.local.batcher = self.batchers[next(self.turns) % len(self.batchers)]
        batcher: Batcher = self.local.batcher
        return batcher, [rng.sample(batcher.accounts, 2) for _ in range(BATCH)]

    def over_http(self, http: Http) -> Callable[[random.Random], None]:
        def one(rng: random.Random) -> None:
            batcher, pairs = self.next(rng)
            transfers = [
                {"from_account": str(a), "to_account": str(b), "amount": "0.01"} for a, b in pairs
            ]
            answer = json.loads(http.post(API_BATCHES, {"transfers": transfers}, batcher.token))
            assert all(t["status"] == "completed" for t in answer["transfers"]), answer

        return one

    def in_process(self, container: Container) -> Callable[[random.Random], None]:
        def one(rng: random.Random) -> None:
            _, pairs = self.next(rng)
            _, done = container.ledger.transfer_batch(
                [TransferInstruction(a, b, 1) for a, b in pairs]
            )
            assert all(t.status == "completed" for t in done)

        return one


def open_batchers(container: Container) -> list[Batcher]:
    batchers = []
    for number in range(BATCH_CLIENTS):
        user = get_user_model().objects.create_user(f"batcher-{number}", password=None)
        token = Token.objects.create(user=user).key
        batchers.append(Batcher(token, open_accounts(container, user.username, 64)))
    return batchers


class Http:
    """Each client thread's kept-alive connection to the web server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def post(self, path: str, body: dict[str, Any], token: str) -> bytes:
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.local.conn.request("POST", path, json.dumps(body), headers)
        response = self.local.conn.getresponse()
        answer = response.read()
        assert response.status == 201, (response.status, answer[:300])
        return answer


def open_orm_accounts(owner: str, count: int) -> list[int]:
    """The peer's accounts, as many and as rich as the ledger's."""
    created = OrmAccount.objects.bulk_create(
        OrmAccount(owner=owner, balance=10**12) for _ in range(count)
    )
    return [account.pk for account in created]


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}


@contextmanager
def web_server_serving(env: dict[str, str]) -> Iterator[tuple[int, list[int]]]:
    """The web server as ``make run`` starts it: its port and its workers, once every worker
    serves (see ``serving_workers``)."""
    port = free_port()
    web = subprocess.Popen(
        web_server("127.0.0.1", port), cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_listening(port)
        yield port, serving_workers(web.pid, port)
    finally:
        web.terminate()
        web.wait(30)


def transfers(
    container: Container,
    accounts: list[UUID],
    orm_accounts: list[int],
    batches: Batches,
    token: str,
    watchers: list[str],
    seconds: int,
    env: dict[str, str],
) -> list[Figure]:
    """``transfer_http``, ``transfer_http_with_streams``, ``orm_transfer_http``,
    ``transfer_batch_http``, ``transfer_app``, ``transfer_batch_app`` and ``transfer_app_plain``
    beside pgbench, in alternated rounds that share ``seconds`` each. Over HTTP, the clients keep
    their connections alive through a round and connect anew in the next, so each round is a new
    split of them between the workers."""
    per_round = max(1, seconds // ROUNDS)
    pgbench, app_rounds, plain_rounds = PgBench(), Rounds(), Rounds()
    http_rounds, orm_rounds, streams_rounds = WebRounds(), WebRounds(), WebRounds()
    streams_split: list[list[int]] = []
    batch_http_rounds = WebRounds(transfers_per_call=BATCH)
    batch_app_rounds = Rounds(transfers_per_call=BATCH)
    with web_server_serving(env) as (port, workers):
        http = Http(port)

        def over_http(rng: random.Random) -> None:
            a, b = rng.sample(accounts, 2)
            body = {"from_account": str(a), "to_account": str(b), "amount": "0.01"}
            http.post(API_TRANSFERS, body, token)

        def over_orm(rng: random.Random) -> None:
            a, b = rng.sample(orm_accounts, 2)
            http.post(ORM_TRANSFERS, {"from_account": a, "to_account": b, "amount": "0.01"}, token)

        def in_process(rng: random.Random) -> None:
            a, b = rng.sample(accounts, 2)
            assert container.ledger.transfer_funds(a, b, 1).status == "completed"

        def web_round(
            measured: WebRounds, one: Callable[[random.Random], None], clients: int = CLIENTS
        ) -> None:
            """One round of ``one`` by the clients, over kept-alive connections."""
            # The split is read halfway, when every client has long been connected.
            reading = threading.Timer(
                per_round / 2, lambda: measured.splits.append(sorted(connections(port, workers)))
            )
            reading.start()
            cpu_before = cpu_seconds(workers)
            measured.add(drive(clients, per_round, one), per_round)
            measured.web_cpu += cpu_seconds(workers) - cpu_before
            reading.join()

        for _ in range(ROUNDS):
            pgbench.run(per_round)
            web_round(http_rounds, over_http)
            # The relay runs, so the streams' hubs have the round's events to hand out. The
            # streams open once it has published what the rounds before left: a hub serves what
            # is published from its start on, so the round measures the steady state.
            with (
                pipeline_running(container, env, project=False),
                live_streams(port, watchers, LIVE_STREAMS),
            ):
                streams_split.append(sorted(connections(port, workers)))
                web_round(streams_rounds, over_http)
            # Right after the API's round, so that their ratio (``over_orm_transfer_http``)
            # carries as little of the machine's drift as the rounds allow.
            web_round(orm_rounds, over_orm)
            web_round(batch_http_rounds, batches.over_http(http), clients=BATCH_CLIENTS)
            app_rounds.add(drive(CLIENTS, per_round, in_process), per_round)
            batch_app_rounds.add(
                drive(BATCH_CLIENTS, per_round, batches.in_process(container)), per_round
            )
            plain_rounds.add(untuned_transfers(accounts, per_round, env), per_round)
    anchor = f"pgbench TPS ({pgbench.how})"
    batched = {"transfers_per_batch": BATCH, "clients": BATCH_CLIENTS, "latency_of": "a batch"}
    figures = []
    for name, measured, extra in (
        ("transfer_http", http_rounds, {
            **http_rounds.web_extra(workers),
            "over_orm_transfer_http": round(http_rounds.rate / orm_rounds.rate, 2),
        }),
        ("transfer_http_with_streams", streams_rounds, {
            **streams_rounds.web_extra(workers),
            "over_transfer_http": round(streams_rounds.rate / http_rounds.rate, 2),
            "streams": LIVE_STREAMS, "streams_per_worker": streams_split if workers else None,
            "relay": "running (not in transfer_http)",
        }),
        ("orm_transfer_http", orm_rounds, orm_rounds.web_extra(workers)),
        ("transfer_batch_http", batch_http_rounds, {
            **batch_http_rounds.web_extra(workers), **batched,
            "over_transfer_http": round(batch_http_rounds.rate / http_rounds.rate, 2),
        }),
        ("transfer_app", app_rounds, {}),
        ("transfer_batch_app", batch_app_rounds, {
            **batched, "over_transfer_app": round(batch_app_rounds.rate / app_rounds.rate, 2),
        }),
        ("transfer_app_plain", plain_rounds, {
            "tuned_over_plain": round(app_rounds.rate / plain_rounds.rate, 2),
        }),
    ):  # fmt: skip
        figures.append(Figure(
            name, measured.rate, "transfers/s", anchor, pgbench.tps,
            extra={**percentiles(measured.latencies), **extra,
                   "per_round": measured.transfers_per_round,
                   "pgbench_per_round": pgbench.tps_per_round},
        ))  # fmt: skip
    return figures


def untuned_transfers(accounts: list[UUID], seconds: int, env: dict[str, str]) -> list[float]:
    """The in-process transfers on the system with no speed-up (``bench.plain``), on these
    accounts: their latencies."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.plain", str(seconds), *map(str, accounts)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=seconds + 120,
    )  # fmt: skip
    latencies: list[float] = json.loads(run.stdout)
    return latencies


# --- The web workers, read from /proc (Linux; elsewhere their figures are left out) -------------
# A kept-alive connection stays with the worker that accepted it. The server listens before its
# workers have loaded Django, and the first worker to finish takes every connection queued by
# then: eight clients connecting as soon as a fresh server listened were all kept by one worker
# in four of six starts, and the run measured one core's worth of web workers. So the clients
# connect only once every worker has answered a request. Connected at once to a warm server, the
# eight still split 4/4, 3/5, 2/6 or even 1/7 between the two workers (2, 6, 5 and 2 of fifteen
# rounds on 2026-12-02), a round's luck; the split is recorded beside the figure, and so is the
# CPU the workers spend per transfer, which moves much less from run to run than the throughput.


def serving_workers(server: int, port: int, timeout: float = 60) -> list[int]:
    """The web server's worker processes, once each of them has answered a request on ``port``.
    Probe connections are held open until then, so each new one is taken by a worker that is
    accepting, until the last worker to load Django has taken one too. Without /proc: none
    (the clients then connect at once)."""
    if not Path(f"/proc/{server}/task").exists():
        return []
    deadline = time.monotonic() + timeout
    probes: list[http.client.HTTPConnection] = []
    try:
        while time.monotonic() < deadline:
            workers = children(server)
            if len(workers) == WORKERS:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                probes.append(probe)
                if all(connections(port, workers)):
                    return workers
            time.sleep(0.05)
    finally:
        for probe in probes:
            probe.close()
    raise RuntimeError(f"not every web worker answered on port {port} within {timeout} s")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, from any of its threads: the web server's workers."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have spent so far."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after the name, which may hold spaces
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def connections(port: int, pids: list[int]) -> list[int]:
    """How many established connections to ``port`` each of ``pids`` holds."""
    sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()  # local address, remote, state ... inode: see proc(5)
            if fields[1].endswith(f":{port:04X}") and fields[3] == "01":  # 01: ESTABLISHED
                sockets.add(f"socket:[{fields[9]}]")
    held = []
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:  # gone: it holds nothing
            fds = []
        held.append(sum(1 for fd in fds if _link(fd) in sockets))
    return held


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed since the directory was listed
        return ""


@contextmanager
def pipeline_running(
    container: Container, env: dict[str, str], *, project: bool = True
) -> Iterator[None]:
    """The relay and (with ``project``) the ``transactions`` projector running as the commands
    they are, once the backlog the figures before left is relayed and projected (in this
    process)."""
    url = env["NATS_URL"]
    asyncio.run(relay_events(container.applications, url, once=True, stop=asyncio.Event()))
    commands = [["relay_events"]]
    if project:
        asyncio.run(run_subscribers(["projection:transactions"], url, once=True))
        commands.append(["run_projections", "--projection", "transactions"])
    services = [
        subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for args in commands
    ]  # fmt: skip
    try:
        time.sleep(3)  # the services start
        yield
    finally:
        for service in services:
            service.terminate()
            service.wait(30)


@contextmanager
def live_streams(port: int, tokens: list[str], count: int) -> Iterator[None]:
    """``count`` open ``GET /api/live/`` streams, the tokens taking turns, each answered 200 and
    then read and discarded by one thread until the block ends."""
    selector, opened = selectors.DefaultSelector(), []
    for number in range(count):
        stream = socket.create_connection(("127.0.0.1", port), timeout=30)
        request = "GET /api/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token "
        stream.sendall(f"{request}{tokens[number % len(tokens)]}\r\n\r\n".encode())
        opened.append(stream)
    for stream in opened:  # each answered before the round starts: none is refused
        status = stream.recv(64)
        assert status.startswith(b"HTTP/1.1 200"), status
        stream.setblocking(False)
        selector.register(stream, selectors.EVENT_READ)
    stop = threading.Event()

    def discard() -> None:
        while not stop.is_set():
            for key, _ in selector.select(timeout=0.2):
                with contextlib.suppress(BlockingIOError):
                    key.fileobj.recv(1 << 16)  # type: ignore[union-attr]

    reader = threading.Thread(target=discard)
    reader.start()
    try:
        yield
    finally:
        stop.set()
        reader.join()
        for stream in opened:
            selector.unregister(stream)
            stream.close()


def open_watchers() -> list[str]:
    """The tokens of ``LIVE_WATCHERS`` customers who own nothing the bench moves."""
    tokens = []
    for number in range(LIVE_WATCHERS):
        user = get_user_model().objects.create_user(f"watcher-{number}", password=None)
        tokens.append(Token.objects.create(user=user).key)
    return tokens


# --- Lag: commit to projection row ------------------------------------------------------------


def lag(container: Container, accounts: list[UUID], env: dict[str, str], seconds: int) -> Figure:
    """Transfers at a steady ``LAG_RATE`` a second while the relay and the projector run as
    the commands they are; a poller notes when each transfer's credit entry appears in
    ``transactions``. The backlog the throughput figures left is relayed and projected first:
    this is steady state."""
    committed: dict[UUID, float] = {}
    seen: dict[UUID, float] = {}
    stop = threading.Event()

    def poll() -> None:
        last = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        while not stop.is_set():
            rows = LedgerEntry.objects.filter(id__gt=last).values_list("id", "transfer_id", "kind")
            now = time.time()
            for row_id, transfer_id, kind in rows:
                last = max(last, row_id)
                if kind == "transfer" and transfer_id is not None:
                    seen.setdefault(transfer_id, now)
            time.sleep(0.005)
        connection.close()

    poller = threading.Thread(target=poll)
    with pipeline_running(container, env):
        try:
            poller.start()
            rng, interval = random.Random(100), 1 / LAG_RATE
            next_at = time.monotonic()
            for _ in range(seconds * LAG_RATE):
                a, b = rng.sample(accounts, 2)
                transfer = container.ledger.transfer_funds(a, b, 1)
                committed[transfer.id] = time.time()
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))
            grace = time.monotonic() + 10
            while len(seen) < len(committed) and time.monotonic() < grace:
                time.sleep(0.05)
        finally:
            stop.set()
            if poller.is_alive():
                poller.join()
    lags = [max(0.0, seen[t] - at) for t, at in committed.items() if t in seen]
    missing = len(committed) - len(lags)
    extra = {
        **percentiles(lags),
        "transfers": len(committed),
        "missing": missing,
        "per_s": LAG_RATE,
    }
    return Figure("lag", extra["p99_ms"], "ms p99", extra=extra, lower_is_better=True)


def catch_up(container: Container, batches: Batches, env: dict[str, str], seconds: int) -> Figure:
    """Batches over HTTP as fast as the clients go, for ``seconds``, while the relay and the
    ``transactions`` projector run as their commands: how long after the last batch answered
    the projection had applied all that was written. The backlog of the figures before is
    relayed and projected first."""
    with pipeline_running(container, env), web_server_serving(env) as (port, _):
        start = container.ledger.max_position()
        latencies = drive(BATCH_CLIENTS, seconds, batches.over_http(Http(port)))
        ended, head = time.monotonic(), container.ledger.max_position()
        while caught_up_to("transactions", "ledger") < head:
            if time.monotonic() - ended > 300:
                raise RuntimeError("the transactions projection did not catch up in 300 s")
            time.sleep(0.02)
        behind = time.monotonic() - ended
    extra = {
        "transfers_per_s_meanwhile": round(len(latencies) * BATCH / seconds, 1),
        "ledger_positions_written": head - start,
        "seconds_of_batches": seconds,
    }
    return Figure("batch_catch_up", behind, "s after", extra=extra, lower_is_better=True)


# --- Projector, RSS and rebuild ---------------------------------------------------------------


def projector(env: dict[str, str]) -> tuple[Figure, Figure]:
    """The ``transactions`` projector as its command, from an empty table: events/s and the
    process's peak RSS, sampled at a tenth of the way and at the end (flat = no growth)."""
    LedgerEntry.objects.all().delete()
    SubscriberPosition.objects.filter(name="projection:transactions").delete()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_projections", "--projection", "transactions", "--once"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    samples: list[tuple[int, int]] = []  # (rows, rss kB)
    while process.poll() is None:
        samples.append((LedgerEntry.objects.count(), rss_kb(process.pid)))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    total = LedgerEntry.objects.count()
    peaks = [rss for _, rss in samples if rss]
    early = [rss for rows, rss in samples if rss and rows >= total // 10]
    rate = Figure("projector", total / seconds, "events/s", extra={"events": total})
    memory = Figure(
        "rss", max(peaks) / 1024 if peaks else None, "MB peak", lower_is_better=True,
        extra={"at_a_tenth_mb": round(early[0] / 1024, 1) if early else None},
    )  # fmt: skip
    return rate, memory


def rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmRSS:\s+(\d+)", status)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="per throughput figure")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="rebuild from 1,000,000 events")
    args = parser.parse_args()
    events = 1_000_000 if args.full else args.events

    data = Path(settings.DATA_DIR)
    container = build_container(settings.EVENT_STORE_URLS)
    user = get_user_model().objects.create_user("bench", password=None)
    token = Token.objects.create(user=user).key
    accounts = open_accounts(container, "bench", 64)
    orm_accounts = open_orm_accounts("bench", 64)
    batches = Batches(open_batchers(container))
    watchers = open_watchers()
    figures: list[Figure] = []
    with NatsServer(data / "nats") as server:
        settings.NATS_URL = server.url
        env = {
            **os.environ,
            "NATS_URL": server.url,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "EVENTBANK_WRITE_RATE": "100000000/min",  # one user drives the load: no brake
        }
        asyncio.run(
            relay_events(container.applications, server.url, once=True, stop=asyncio.Event())
        )

        for figure in transfers(
            container, accounts, orm_accounts, batches, token, watchers, args.seconds, env
        ):
            figures.append(figure)
            print(f"{figure.name}: {figure.value:,.0f}", flush=True)
        figures.append(lag(container, accounts, env, min(args.seconds, 20)))
        print("lag measured", flush=True)
        figures.append(catch_up(container, batches, env, min(args.seconds, 20)))
        print("catch-up measured", flush=True)

        fill_store(container, events)
        figures.append(relay_figure(container, server.url))
        print("relay measured", flush=True)
        rate, memory = projector(env)
        anchor_name, anchor_seconds, rows = executemany_anchor()
        rate.anchor, rate.anchor_value = anchor_name, rows / anchor_seconds
        _, bare_seconds, _ = executemany_anchor(twin=False)  # the cheaper write, for the record
        rate.extra["executemany_bare_table_rows_per_s"] = round(rows / bare_seconds, 1)
        figures += [rate, memory]
        rebuilt = rebuild("transactions", container.applications, nats_url=server.url)
        anchor_name, copy_seconds = copy_anchor()
        # The stream also holds the transfer figures' events: the target is per 100,000.
        per_100k = rebuilt.seconds * 100_000 / rebuilt.applied
        figures.append(
            Figure("rebuild", rebuilt.seconds, "s", anchor_name, copy_seconds, lower_is_better=True,
                   extra={"events": rebuilt.applied, "s_per_100k_events": round(per_100k, 1)})
        )  # fmt: skip
    container.close()
    report(figures, events)


def report(figures: list[Figure], events: int) -> None:
    print(f"\n{VENDOR}, {events:,} events for relay/projector/rebuild, {CLIENTS} clients")
    print(f"{'figure':<19}{'value':>12} {'unit':<12}{'anchor':<34}{'anchor value':>14}  ratio")
    for f in figures:
        value = f"{f.value:,.1f}" if f.value is not None else "—"
        anchor_value = f"{f.anchor_value:,.1f}" if f.anchor_value is not None else "—"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        print(f"{f.name:<19}{value:>12} {f.unit:<12}{(f.anchor or '—')[:33]:<34}"
              f"{anchor_value:>14}  {ratio}")  # fmt: skip
        if f.extra:
            print(f"{'':<19}{json.dumps(f.extra)}")
    out = ROOT / "var" / "bench" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "figures": {
            f.name: {**asdict(f), "ratio": f.ratio} for f in figures
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "database": VENDOR},
        "at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    out.write_text(json.dumps(body, indent=2, default=str))
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
