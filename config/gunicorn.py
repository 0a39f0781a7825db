"""gunicorn's hooks for the web server (``gunicorn --config python:config.gunicorn``).

Several workers each count their own requests; ``/metrics`` must report them all, whichever
worker a scrape reaches. prometheus-client's multiprocess mode does that: each worker writes its
counts to files in ``PROMETHEUS_MULTIPROC_DIR``, and a scrape sums the files. The directory must
be set before a worker imports the client and be empty when the server starts, so the master
prepares it here, before it forks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


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
