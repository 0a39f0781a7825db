"""Logging for every process: the current correlation id on every record, and one JSON object
per line in production (DJANGO_DEBUG off), so a log pipeline can follow a request by its id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from kernel.correlation import current

# What every LogRecord carries; anything else on a record came in ``extra=`` and is logged too.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        scope = current()
        record.correlation_id = scope.correlation_id if scope else "-"
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "correlation_id", ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        correlation_id = getattr(record, "correlation_id", "-")
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": None if correlation_id == "-" else correlation_id,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in line and key != "correlation_id":
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
