"""Create or update the JetStream stream that carries every event. Safe to run at every start.

Subscribers need no durable consumer: each keeps its own position in its database, in the
same transaction as its effects, and reads from there (see messaging/subscriber.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messaging.runtime import setup_nats
from messaging.stream import stream_settings


class Command(BaseCommand):
    help = "Create or update the JetStream stream (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.NATS_URL:
            raise CommandError("NATS_URL is not set (run_all sets it for the embedded server)")
        outcome = asyncio.run(setup_nats(settings.NATS_URL))
        stream = stream_settings()
        if options["verbosity"] >= 1:
            self.stdout.write(f"stream {stream.name} ({', '.join(stream.subjects)}): {outcome}")
