"""``make bench``: every figure beside a physical anchor measured in the same run, as a ratio.

This machine is shared and its absolute numbers drift; a ratio to something measured a moment
before on the same hardware does not drift much. Prints one table and writes
``var/bench/latest.json``. PostgreSQL (a fresh database on DATABASE_URL's server, or on the
local one) and a private nats-server with ``sync_interval: always``, as in production.

    .venv/bin/python -m bench.suite [--seconds 30] [--events 100000] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

from bench.environment import fresh_database, prepare

VENDOR = prepare()

import asyncio  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.figures import Figure  # noqa: E402
from bench.messaging import fill_store, relay_figure  # noqa: E402
from bench.projections import copy_anchor, executemany_anchor  # noqa: E402
from config.container import Container, build_container  # noqa: E402
from config.management.commands.run_all import web_server  # noqa: E402
from messaging.embedded import NatsServer, free_port, wait_until_listening  # noqa: E402
from messaging.management.commands.relay_events import relay_events  # noqa: E402
from messaging.management.commands.run_subscriber import run_subscribers  # noqa: E402
from messaging.models import SubscriberPosition  # noqa: E402
from projections.models import LedgerEntry  # noqa: E402
from projections.rebuild import rebuild  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 8


# --- Anchors ----------------------------------------------------------------------------------


def pgbench_tps(seconds: int) -> tuple[float | None, str]:
    """TPC-B-like transactions/s at 8 clients on a scratch database; (None, why) if absent."""
    if VENDOR != "postgresql":
        return None, "skipped: SQLite run"
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        return None, "skipped: pgbench is not installed"
    url = urlsplit(fresh_database(os.environ["DATABASE_URL"], "eventbank_pgbench"))
    target = [
        "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
        "-U", url.username or "postgres", url.path.lstrip("/"),
    ]  # fmt: skip
    subprocess.run([pgbench, "-i", "-q", "-s", "10", *target], check=True, capture_output=True)
    run = subprocess.run(
        [pgbench, "-n", "-c", str(CLIENTS), "-j", "2", "-T", str(seconds), *target],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = re.search(r"tps = ([\d.]+)", run.stdout)
    return (float(found.group(1)), "pgbench -s 10 -c 8 -j 2") if found else (None, run.stdout)


# --- Transfers --------------------------------------------------------------------------------


def open_accounts(container: Container, owner: str, count: int) -> list[UUID]:
    ledger = container.ledger
    accounts = [ledger.open_account(owner, "EUR").id for _ in range(count)]
    for account in accounts:
        ledger.deposit(account, 10**12, f"bench-{account}")
    return accounts


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}


def drive(clients: int, seconds: float, one: Callable[[random.Random], None]) -> list[float]:
    """``clients`` threads calling ``one`` back to back for ``seconds``; every latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng, mine = random.Random(seed), []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            one(rng)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
        connection.close()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def transfer_app(container: Container, accounts: list[UUID], seconds: int) -> Figure:
    def transfer(rng: random.Random) -> None:
        a, b = rng.sample(accounts, 2)
        assert container.ledger.transfer_funds(a, b, 1).status == "completed"

    latencies = drive(CLIENTS, seconds, transfer)
    return Figure("transfer_app", len(latencies) / seconds, "transfers/s",
                  extra=percentiles(latencies))  # fmt: skip


def transfer_http(accounts: list[UUID], token: str, seconds: int, env: dict[str, str]) -> Figure:
    """The same saga through the web server as ``make run`` starts it, over keep-alive
    connections."""
    import http.client

    port = free_port()
    web = subprocess.Popen(
        web_server("127.0.0.1", port), cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_listening(port)
        local = threading.local()
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

        def transfer(rng: random.Random) -> None:
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            a, b = rng.sample(accounts, 2)
            body = json.dumps({"from_account": str(a), "to_account": str(b), "amount": "0.01"})
            local.conn.request("POST", "/api/transfers/", body, headers)
            response = local.conn.getresponse()
            response.read()
            assert response.status == 201, response.status

        latencies = drive(CLIENTS, seconds, transfer)
    finally:
        web.terminate()
        web.wait(30)
    return Figure("transfer_http", len(latencies) / seconds, "transfers/s",
                  extra=percentiles(latencies))  # fmt: skip


# --- Lag: commit to projection row ------------------------------------------------------------


def lag(container: Container, accounts: list[UUID], env: dict[str, str], seconds: int) -> Figure:
    """Transfers at a steady 100/s while the relay and the projector run as the commands they
    are; a poller notes when each transfer's credit entry appears in ``transactions``. The
    backlog the throughput figures left is relayed and projected first: this is steady state."""
    url = env["NATS_URL"]
    asyncio.run(relay_events(container, url, once=True, stop=asyncio.Event()))
    asyncio.run(run_subscribers(["projection:transactions"], url, once=True))
    services = [
        subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for args in (["relay_events"], ["run_projections", "--projection", "transactions"])
    ]  # fmt: skip
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
    try:
        time.sleep(3)  # the services start
        poller.start()
        rng, interval = random.Random(100), 0.01
        next_at = time.monotonic()
        for _ in range(seconds * 100):
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
        for service in services:
            service.terminate()
            service.wait(30)
    lags = [max(0.0, seen[t] - at) for t, at in committed.items() if t in seen]
    missing = len(committed) - len(lags)
    extra = {**percentiles(lags), "transfers": len(committed), "missing": missing}
    return Figure("lag", extra["p99_ms"], "ms p99", extra=extra, lower_is_better=True)


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
    figures: list[Figure] = []
    with NatsServer(data / "nats") as server:
        settings.NATS_URL = server.url
        env = {
            **os.environ,
            "NATS_URL": server.url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "EVENTBANK_WRITE_RATE": "100000000/min",  # one user drives the load: no brake
        }
        asyncio.run(relay_events(container, server.url, once=True, stop=asyncio.Event()))

        tps, how = pgbench_tps(args.seconds)
        print(f"pgbench: {tps or how}", flush=True)
        for figure in (
            transfer_http(accounts, token, args.seconds, env),
            transfer_app(container, accounts, args.seconds),
        ):
            figure.anchor, figure.anchor_value = f"pgbench TPS ({how})", tps
            figures.append(figure)
            print(f"{figure.name}: {figure.value:,.0f}", flush=True)
        figures.append(lag(container, accounts, env, min(args.seconds, 20)))
        print("lag measured", flush=True)

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
    print(f"{'figure':<15}{'value':>12} {'unit':<12}{'anchor':<34}{'anchor value':>14}  ratio")
    for f in figures:
        value = f"{f.value:,.1f}" if f.value is not None else "—"
        anchor_value = f"{f.anchor_value:,.1f}" if f.anchor_value is not None else "—"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        print(f"{f.name:<15}{value:>12} {f.unit:<12}{(f.anchor or '—')[:33]:<34}"
              f"{anchor_value:>14}  {ratio}")  # fmt: skip
        if f.extra:
            print(f"{'':<15}{json.dumps(f.extra)}")
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
