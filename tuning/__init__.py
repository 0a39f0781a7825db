"""Speed-ups beside the teaching core. Each module replaces one default — a library's, or the
core's plain way — with a faster way to the same result; its docstring says what it replaces,
why that is safe, and what would break it. What each one gains, measured, is in
docs/performance.md: a module that stops paying is removed.

``EVENTBANK_TUNING`` chooses (``settings.TUNING``): ``on`` (the default) applies them all,
``off`` none, and a comma-separated list of module names just those (for measuring one
against the rest). Only the composition root applies them — ``config/settings.py`` names the
classes Django and DRF load, ``config/container.py`` builds the applications — and nothing in
the core imports this package (``make lint`` holds that).
"""

from __future__ import annotations

# Every speed-up, by module name; ``on`` means all of these.
MODULES = (
    "snapshots",
    "aggregate_cache",
    "known_classes",
    "many_reads",
    "transcoder",
    "flat_copies",
    "serializers",
    "token_auth",
    "negotiation",
    "throttle",
    "database",
    "recorder",
    "copy_loader",
    "fetch",
)


def chosen(setting: str) -> frozenset[str]:
    """The modules ``EVENTBANK_TUNING`` names: ``on``, ``off``, or a list of ``MODULES``."""
    value = setting.strip().lower()
    if value in ("", "on", "1", "true", "yes"):
        return frozenset(MODULES)
    if value in ("off", "0", "false", "no"):
        return frozenset()
    names = frozenset(name.strip() for name in value.split(",") if name.strip())
    unknown = sorted(names - set(MODULES))
    if unknown:
        raise ValueError(f"EVENTBANK_TUNING names no such speed-up: {', '.join(unknown)}")
    return names
