"""Create or update the JetStream stream that carries every event. Safe to run at every start.

Subscribers need no durable consumer: each keeps its own position in its database, in the
same transaction as its effects, and reads from there (see messaging/subscriber.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand

from messaging.connection import nats_url
from messaging.runtime import setup_nats
from messaging.stream import stream_settings


class Command(BaseCommand):
    help = "Create or update the JetStream stream (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        url = nats_url()  # NatsNotFound is a CommandError: one line, no traceback
        outcome = asyncio.run(setup_nats(url))
        stream = stream_settings()
        if options["verbosity"] >= 1:
            replicas = f"{stream.replicas} replica{'s' if stream.replicas > 1 else ''}"
            subjects = ", ".join(stream.subjects)
            self.stdout.write(f"stream {stream.name} ({subjects}; {replicas}): {outcome}")
