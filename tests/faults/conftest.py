"""The fault suite runs the whole system (the e2e fixture) on a PostgreSQL cluster of its own
(``private_postgres``, shared by every layer), so both can be killed, stopped and started."""

from tests.e2e.conftest import start_system  # noqa: F401  (a fixture)
