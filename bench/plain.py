"""``transfer_app_plain``: ``bench.suite``'s in-process transfers on the system built with no
speed-up at all (``EVENTBANK_TUNING=off``), so the tuning package's worth is measured, not
claimed. It runs in a process of its own (some speed-ups change classes for a whole process),
on the run's own database and accounts, between the tuned rounds; it prints its latencies.

    python -m bench.plain SECONDS ACCOUNT_ID...   (environment: the parent run's)
"""

from __future__ import annotations

import json
import os
import sys
from uuid import UUID

os.environ["EVENTBANK_TUNING"] = "off"

import django

django.setup()

from django.conf import settings  # noqa: E402

from bench.drive import CLIENTS, drive  # noqa: E402
from config.container import build_container  # noqa: E402


def main() -> None:
    seconds, accounts = float(sys.argv[1]), [UUID(a) for a in sys.argv[2:]]
    container = build_container(settings.EVENT_STORE_URLS)
    assert not container.tuning

    def in_process(rng: object) -> None:
        a, b = rng.sample(accounts, 2)  # type: ignore[attr-defined]
        assert container.ledger.transfer_funds(a, b, 1).status == "completed"

    latencies = drive(CLIENTS, seconds, in_process)
    container.close()
    json.dump(latencies, sys.stdout)


if __name__ == "__main__":
    main()
