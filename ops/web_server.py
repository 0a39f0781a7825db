"""The production web server: granian, speaking ASGI to ``config.asgi``'s door.

    python -m ops.web_server [--host 0.0.0.0] [--port 8000] [--workers 2] [--threads 4]

``make run`` starts it through ``run_all``, the image runs it as its command, and ``make bench``
measures it. granian replaced gunicorn here because it costs less per request (measured in
docs/performance.md). What granian does not do on its own is done here.

**ASGI, with the WSGI application behind it.** One server, one port, for the API and its live
updates: ``config.asgi`` (``ops.web_door.WebDoor``) sends ``/api/live/`` to Django's ASGI handler,
whose async view streams on the worker's event loop, and every other request to Django's WSGI
application on ``--threads`` threads, once its body has arrived whole (docs/decisions/0008). Under
granian's WSGI interface an open stream, or a body sent slowly, held one of those threads.

**Workers never outlive the server.** granian's main process watches its workers, but nothing
in a worker watches the main process: SIGKILL it (the OOM killer, a supervisor out of patience)
and its workers keep serving the port, so the server that replaces it cannot bind. granian calls
``application`` in each worker to build the app (a factory target); it starts a thread there
that ends the worker within half a second of its parent's death.

**One worker's death never stops the server.** granian respawns a worker that dies, but when
one dies again within 5.5 s of being respawned it takes that for a crash loop and exits, stopping
the healthy workers with it: two kills a few seconds apart took the web down until the
supervisor had started it again. granian 2.8.7 has no option for that window, so ``Server``
judges each end: a worker killed by a signal from outside (the OOM killer, an operator) is
respawned however soon it dies again; one that fails on its own twice in a row (its app does not
load) still ends the server, for the supervisor's backoff to take over. The other workers serve
meanwhile.

**Request counts add up across workers.** Each worker counts its own requests, and ``/metrics``
must report them all, whichever worker a scrape reaches. prometheus-client's multiprocess mode
does that: each worker writes its counts to files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape
sums the files. The directory must be set before a worker imports the client and be empty when
the server starts, so ``main`` prepares it before granian starts any worker.

**Django is imported in the workers only.** The main process imports granian, this module and
the supervisor's signal policy, nothing of Django, so no connection pool or thread exists before
the fork (a pool must not cross one: ``config/container.py``).

**Workers, threads and connections.** A worker is a process, and its Python runs on one core at a
time however many threads it has: ``WORKERS`` is one per core of the 2-core machine this was
measured on (a third worker served no more transfers, at more CPU each), ``THREADS`` the
threads each runs the WSGI application's requests on (more did no better); the workers read it
from ``EVENTBANK_WEB_THREADS``, which ``main`` sets. A kept-alive connection stays with the
worker that accepted it, and granian caps no worker's share (docs/performance.md has how eight
clients split).
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.mp import MPServer, WorkerProcess

from ops.supervisor import killed_from_outside

WORKERS = 2
THREADS = 4
# A stopping worker's in-flight requests get this long to finish. It is also how long a stop
# waits for a worker that was still loading the app when the stop came (granian's worker does
# not hear the stop then, and is killed at the end of the grace): short, so Ctrl-C is quick.
GRACE_SECONDS = 3
PARENT_CHECK_SECONDS = 0.5
DJANGO = "config.asgi:application"
APP_VARIABLE = "EVENTBANK_WEB_APP"
THREADS_VARIABLE = "EVENTBANK_WEB_THREADS"

ASGIApplication = Callable[..., Any]


def application() -> ASGIApplication:
    """granian's factory target, called once in each worker: the ASGI app ``--app`` names
    (``config.asgi``'s by default), after starting the watch on the worker's parent."""
    watch_parent(os.getppid(), every=PARENT_CHECK_SECONDS)
    return pkgutil.resolve_name(os.environ[APP_VARIABLE])


def watch_parent(parent: int, every: float) -> None:
    """End this process as soon as ``parent`` is no longer its parent (it died; the process was
    handed to init), checking every ``every`` seconds."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)  # nothing to flush: in-flight requests die with the connection anyway

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Worker(WorkerProcess):
    """A granian worker whose death by a signal from outside is not counted as a crash."""

    def _watcher(self) -> None:
        self.inner.join()
        if not self.interrupt_by_parent and killed_from_outside(self.inner.exitcode):
            # granian's crash-loop check reads when this worker was last respawned: forgotten
            # before granian hears of the death, a kill is respawned like a first failure.
            self.parent.respawned_wrks.pop(self.idx, None)
        super()._watcher()  # granian's own: reports the death, and granian respawns the worker


class Server(MPServer):
    """granian's server (one process per worker), with ``Worker`` for its workers."""

    def _spawn_worker(self, *args: Any, **kwargs: Any) -> WorkerProcess:
        worker = super()._spawn_worker(*args, **kwargs)
        worker.__class__ = Worker  # granian builds it, with its arguments; only its end differs
        return worker


@contextmanager
def counts_directory() -> Iterator[Path]:
    """``PROMETHEUS_MULTIPROC_DIR``, emptied of an earlier run's counts; when none is named, one
    made for this server and removed when it stops."""
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(named or tempfile.mkdtemp(prefix="eventbank-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for counts in directory.glob("*.db"):
        counts.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield directory
    finally:
        if not named:
            shutil.rmtree(directory, ignore_errors=True)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=WORKERS, help="processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="per worker")
    parser.add_argument("--app", default=DJANGO, help="the ASGI app to serve, module:name")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=[level.value for level in LogLevels],
        help="granian's own lines (its workers starting and stopping)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    os.environ[APP_VARIABLE] = args.app  # the workers inherit the environment
    os.environ[THREADS_VARIABLE] = str(args.threads)
    with counts_directory():
        serve(args)


def serve(args: argparse.Namespace) -> None:
    Server(
        "ops.web_server:application",  # this module's name even when run as __main__
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,  # with lifespan: a worker's shutdown closes its live hub
        websockets=False,  # none served; saying so spares a log line at every start
        workers=args.workers,
        factory=True,
        respawn_failed_workers=True,
        respawn_interval=1.0,
        workers_kill_timeout=GRACE_SECONDS,
        log_level=LogLevels(args.log_level),
    ).serve()


if __name__ == "__main__":
    main()
