"""gunicorn's settings and hooks for the web server (``gunicorn --config python:config.gunicorn``).

**Threads and connections.** Each worker is a process with ``threads`` threads, so a worker uses
one core however many threads it has: the workers share the cores. A threaded worker accepts as
many connections as ``worker_connections`` allows (1,000 by default), and a kept-alive
connection stays with the worker that accepted it, so a handful of clients opening their
connections at once can all land on one worker, its threads queueing on one core while the
other workers sit idle (``make bench`` saw exactly that: eight clients, one busy worker).
A worker here takes at most its threads plus two kept-alive connections; a further connection
waits in the listen queue for a worker with room. Over eight keep-alive clients that took
transfers from ~140/s to ~220/s. Set both from the command line together if you change them.

**Request counts.** Several workers each count their own requests; ``/metrics`` must report them
all, whichever worker a scrape reaches. prometheus-client's multiprocess mode does that: each
worker writes its counts to files in ``PROMETHEUS_MULTIPROC_DIR``, and a scrape sums the files.
The directory must be set before a worker imports the client and be empty when the server
starts, so the master prepares it here, before it forks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

threads = 4
worker_connections = threads + 2  # see above: at most two idle kept-alive connections a worker


def on_starting(server: Any) -> None:
    directory = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="eventbank-metrics-")
    )
    directory.mkdir(parents=True, exist_ok=True)
    for counts in directory.glob("*.db"):  # an earlier run's counts are not this run's
        counts.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # a dead worker's counts stay in the sum
