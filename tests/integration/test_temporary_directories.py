"""The suite leaves no temporary directory behind: the data directory the test settings make
for a run is removed when the run's process ends (the web server's counts directory is
``tests/integration/test_metrics.py``'s)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ROOT


def test_the_test_settings_data_directory_is_gone_when_the_process_ends(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EVENTBANK_DATA_DIR"}
    env.update(TMPDIR=str(tmp_path), DJANGO_SETTINGS_MODULE="tests.settings")
    made = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.DATA_DIR, settings.DATA_DIR.is_dir())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert made[1] == "True" and Path(made[0]).parent == tmp_path
    assert not Path(made[0]).exists()
    assert not list(tmp_path.glob("eventbank-tests-*"))
