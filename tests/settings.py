"""Settings for the test suite: the real settings, with what tests need and nothing more.

pytest-django imports settings before any conftest runs, so the environment defaults that
tests rely on are set here.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("EVENTBANK_BEHIND_TLS", "0")  # the test client speaks plain HTTP
if "EVENTBANK_DATA_DIR" not in os.environ:
    # One data directory for the run (the processes tests start inherit it), gone at its end.
    os.environ["EVENTBANK_DATA_DIR"] = tempfile.mkdtemp(prefix="eventbank-tests-")
    atexit.register(shutil.rmtree, os.environ["EVENTBANK_DATA_DIR"], ignore_errors=True)

from config.settings import *  # noqa: F403

# The suite's own nats-servers speak plain NATS unless a test sets TLS up (test_nats_tls.py).
NATS_TLS_CA = NATS_TLS_CERT = NATS_TLS_KEY = ""
NATS_TLS_HANDSHAKE_FIRST = False

# Hashing passwords slowly is a feature in production and a cost in 200 tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"auth": "1000/min", "writes": "10000/min"},
}

# A file, like production, not Django's shared-cache in-memory database: that one takes table
# locks that ignore the busy timeout, so concurrent requests in a test would fail for a reason
# production never sees.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_eventbank.sqlite3")}  # noqa: F405

# A test-only app: a subscriber that records each effect it applies, so tests can count them.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

# No read replica in the suite's own process, even when the caller's environment names one: a
# test database has nothing streaming into it, and a read routed to another alias would be a
# query pytest-django refuses. tests/cluster runs the system on a real standby, in processes of
# its own; tests/unit and tests/integration check the router and its scopes without one.
DATABASES.pop("replica", None)  # noqa: F405
DATABASE_ROUTERS = []
