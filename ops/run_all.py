"""Start everything `make run` starts, under one supervisor; Ctrl-C stops it all, NATS last.

Children: the web server (``ops.web_server``; Django's runserver when DJANGO_DEBUG is on),
the outbox relay, the projections, the compliance monitor, the ledger's consumer of compliance
decisions, the saga recovery loop, and a local nats-server with JetStream unless NATS_URL names
one. Each background service is the management command an operator would run on its own. With
EVENTBANK_SEED_DEMO on (``make run`` turns it on) a database with no users is seeded with the
demo first, and the banner says how to log in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model

from config.container import close_container, get_container
from messaging.embedded import NatsServer
from messaging.runtime import setup_nats
from ops.demo import demo_is_seeded, demo_login_lines, seed_demo
from ops.supervisor import Child, Supervisor, supervised
from ops.web_server import WORKERS

Say = Callable[[str], None]


def manage(*args: str) -> list[str]:
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]


def web_server(host: str, port: int, workers: int = WORKERS) -> list[str]:
    if settings.DEBUG:
        return manage("runserver", f"{host}:{port}", "--noreload")
    # Of granian's own lines only its errors: run_all says when the web starts and stops, and
    # a worker still loading when Ctrl-C comes is killed after the grace without a warning.
    return [
        sys.executable, "-m", "ops.web_server",
        "--host", host, "--port", str(port), "--workers", str(workers), "--log-level", "error",
    ]  # fmt: skip


def background_services() -> list[Child]:
    """The long-running management commands, as docker-compose runs them one per service."""
    every = str(settings.SAGA_RECOVERY_INTERVAL_SECONDS)
    older = str(settings.SAGA_RECOVERY_OLDER_THAN_SECONDS)
    return [
        Child("relay", manage("relay_events")),
        Child("projections", manage("run_projections")),
        Child("compliance", manage("run_compliance")),
        Child("compliance-decisions", manage("run_subscriber", "ledger:compliance-decisions")),
        Child("forgotten-customers", manage("run_subscriber", "ledger:forgotten-customers")),
        Child("saga-recovery", manage("recover_sagas", "--every", every, "--older-than", older)),
    ]


def run_all(host: str, port: int, *, workers: int = WORKERS, say: Say = print) -> None:
    """Start NATS when no NATS_URL names one, the stream, the demo when asked for, then every
    child under one supervisor until Ctrl-C or SIGTERM."""
    env = dict(os.environ)
    # Plain HTTP on a laptop: no TLS-only cookies or redirects unless asked for.
    env.setdefault("EVENTBANK_BEHIND_TLS", "0")
    env.setdefault("DJANGO_ALLOWED_HOSTS", f"{host},localhost,127.0.0.1")

    nats = None
    try:
        if not settings.NATS_URL:
            nats = NatsServer(settings.DATA_DIR / "nats", popen_options=supervised()).start()
            env["NATS_URL"] = nats.url
            say(f"[run_all] started nats-server at {nats.url} (store {nats.store_dir})")
        outcome = asyncio.run(setup_nats(env["NATS_URL"]))
        say(f"[run_all] stream {settings.NATS_STREAM}: {outcome}")
        demo = settings.SEED_DEMO and seed_demo_if_empty(say)
        close_container()  # the children build their own; this process holds no store open

        children = [Child("web", web_server(host, port, workers)), *background_services()]
        supervisor = Supervisor(children, env, say=say)
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        say(banner(host, port, nats=env["NATS_URL"], demo=demo))
        supervisor.run()
    except KeyboardInterrupt:  # Ctrl-C before the children were started
        say("[run_all] interrupted while starting")
    finally:
        # Last: the services just stopped were draining into it.
        if nats is not None:
            nats.stop()
            say("[run_all] nats-server stopped")


def seed_demo_if_empty(say: Say = print) -> bool:
    """Seed a database that has no users; say whether the demo is there."""
    if not get_user_model().objects.exists():
        say("[run_all] no users yet: seeding the demo (EVENTBANK_SEED_DEMO)")
        say(seed_demo(get_container(), say=say).summary())
    return demo_is_seeded()


def shown_url(urls: str) -> str:
    """A URL, or a comma-separated list of them, fit for a terminal: users and passwords left
    out."""
    addresses = (urlsplit(url.strip()) for url in urls.split(","))
    return ",".join(a._replace(netloc=a.netloc.rpartition("@")[2]).geturl() for a in addresses)


def banner(host: str, port: int, *, nats: str = "", demo: bool = False) -> str:
    base = f"http://{host}:{port}"
    user = "  a user       .venv/bin/python manage.py create_customer alice --password <pw>"
    return "\n".join(
        [
            "",
            "eventbank is starting:",
            f"  API docs     {base}/api/docs/",
            f"  admin        {base}/admin/",
            f"  health       {base}/healthz",
            *([f"  NATS         {shown_url(nats)}"] if nats else []),
            *(demo_login_lines(base) if demo else [user]),
            "  Ctrl-C stops everything.",
            "",
        ]
    )
