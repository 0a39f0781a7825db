"""A logging filter that puts the current correlation id on every record."""

from __future__ import annotations

import logging

from kernel.correlation import current


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        scope = current()
        record.correlation_id = scope.correlation_id if scope else "-"
        return True
