"""The fault suite runs the whole system (the e2e fixture) on a PostgreSQL cluster of its own
(the integration fixture), so both can be killed, stopped and started."""

from tests.e2e.conftest import start_system  # noqa: F401  (a fixture)
from tests.integration.conftest import private_postgres  # noqa: F401  (a fixture)
