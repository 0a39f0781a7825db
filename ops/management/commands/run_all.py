"""``make run``: the web server and every background service, under one supervisor, with a
local nats-server unless NATS_URL names one. The work is ``ops.run_all``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ops.run_all import run_all
from ops.web_server import WORKERS


class Command(BaseCommand):
    help = "Run the web server and every background service under one supervisor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--workers", type=int, default=WORKERS, help="web server processes")

    def handle(self, *args: Any, port: int, host: str, workers: int, **options: Any) -> None:
        run_all(host, port, workers=workers, say=self.stdout.write)
