"""A secret key for installations that set none: generated once, kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def local_secret_key(data_dir: Path) -> str:
    """Return the installation's key, creating it (mode 0600) on first use."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
