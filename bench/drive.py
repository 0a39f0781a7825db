"""Client threads driving a load, shared by the bench's programs."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from django.db import connection

CLIENTS = 8


def drive(clients: int, seconds: float, one: Callable[[random.Random], None]) -> list[float]:
    """``clients`` threads calling ``one`` back to back for ``seconds``; every latency. Each
    thread is new, so a client that keeps a connection in a ``threading.local`` makes a new one
    each time."""
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
