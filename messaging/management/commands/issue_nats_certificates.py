"""Issue a private CA and the certificates NATS TLS needs, once, into a directory.

docker-compose.yml runs it before the nats server starts, so that a fresh deployment talks TLS
from its first message without anyone running openssl by hand. A complete set already in the
directory is kept: clients keep trusting the CA they were given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.certificates import CertificateSet, issue_certificates


class Command(BaseCommand):
    help = "Issue a CA, a server and a client certificate for NATS TLS into DIRECTORY (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--host",
            action="append",
            dest="hosts",
            required=True,
            help="a name or IP address clients use to reach the server (repeat for several)",
        )
        parser.add_argument("--days", type=int, default=825, help="validity (default 825)")
        parser.add_argument("--replace", action="store_true", help="issue a new set anyway")
        parser.add_argument("--dry-run", action="store_true", help="say what would happen")

    def handle(
        self,
        *args: Any,
        directory: Path,
        hosts: list[str],
        days: int,
        replace: bool,
        dry_run: bool,
        **options: Any,
    ) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1")
        if dry_run:
            kept = CertificateSet(directory).complete and not replace
            verdict = "would keep the set" if kept else f"would issue for {', '.join(hosts)}"
            self.stdout.write(f"{directory}: {verdict}")
            return
        try:
            certificates, issued = issue_certificates(
                directory, hosts=hosts, days=days, replace=replace
            )
        except OSError as error:
            raise CommandError(f"cannot write certificates into {directory}: {error}") from None
        if options["verbosity"] >= 1:
            verdict = f"issued for {', '.join(hosts)}" if issued else "kept the existing set"
            self.stdout.write(f"{certificates.directory}: {verdict}")
