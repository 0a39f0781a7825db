"""Rebuild a projection from history, while the API goes on serving the old rows.

A projection is derived data: after a projector is fixed or changed, or when its table is
suspect, rebuild it from the record. ``--source store`` reads the event stores themselves, for
when the stream no longer holds the oldest events. The work is ``projections.rebuild.rebuild``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from config.container import get_container
from messaging.connection import nats_url
from projections.rebuild import Progress, RebuildError, projector_named, rebuild


def moment(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ProgressBar:
    """Count, rate and ETA: redrawn in place on a terminal; in a log, a quiet line every few
    seconds."""

    width = 30

    def __init__(
        self, out: OutputWrapper, label: str, *, terminal: bool, every: float = 5.0
    ) -> None:
        self.out, self.label, self.terminal = out, label, terminal
        self.every = 0.1 if terminal else every
        self.started = time.monotonic()
        self.start_position: int | None = None
        self.shown_at = 0.0

    def __call__(self, progress: Progress) -> None:
        if self.start_position is None:
            self.start_position = progress.position
        now = time.monotonic()
        if now - self.shown_at < self.every and progress.phase == "build":
            return
        self.shown_at = now
        self.out.write(
            self.line(progress, now - self.started), ending="\r" if self.terminal else "\n"
        )
        self.out.flush()

    def line(self, progress: Progress, elapsed: float) -> str:
        rate = progress.applied / elapsed if elapsed > 0 else 0.0
        start = self.start_position or 0
        done = (progress.position - start) / max(progress.end - start, 1)
        done = min(max(done, 0.0), 1.0)
        eta = elapsed * (1 - done) / done if done > 0 else None
        text = (
            f"{self.label} {progress.phase}: {progress.applied:,} events, {rate:,.0f}/s, "
            f"{done:.0%}, ETA {timedelta(seconds=round(eta)) if eta is not None else '?'}"
        )
        if not self.terminal:
            return text
        filled = round(self.width * done)
        return f"[{'#' * filled}{'.' * (self.width - filled)}] {text}\033[K"

    def finish(self) -> None:
        if self.terminal and self.shown_at:
            self.out.write("\n")


class Command(BaseCommand):
    help = (
        "Rebuild a projection from history without readers seeing it half-built "
        "(--since: replay from that time over the existing rows)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="accounts, transactions, transfers, ...")
        parser.add_argument("--since", type=moment, help="ISO 8601 time (UTC if no zone)")
        parser.add_argument("--source", choices=["nats", "store"], default="nats")

    def handle(self, *args: Any, name: str, since: datetime | None, **options: Any) -> None:
        try:
            projector_named(name)
        except RebuildError as exc:
            raise CommandError(str(exc)) from None
        quiet = options["verbosity"] == 0
        bar = ProgressBar(self.stdout, name, terminal=self.stdout.isatty())
        try:
            result = rebuild(
                name,
                get_container().applications,
                source=options["source"],
                nats_url=nats_url() if options["source"] == "nats" else "",
                since=since,
                on_progress=(lambda progress: None) if quiet else bar,
            )
        except RebuildError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.finish()
        if not quiet:
            how = f"replayed since {since.isoformat()}" if since else "rebuilt and swapped in"
            self.stdout.write(
                f"{name}: {how}: {result.applied:,} events applied, {result.rows:,} rows, "
                f"{result.seconds:.1f} s"
            )
