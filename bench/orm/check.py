"""``python -m bench.orm.check``: the peer's view tried through DRF's test client on a scratch
SQLite database of its own — twenty transfers, an overdraft (more than the four accounts hold
together) and a request without a token — printing what it saw as JSON, for
``tests/integration/test_orm_peer.py`` to judge.

It runs in a process of its own because the peer's app is installed by ``bench.settings``
only: the test suite's settings never have its tables.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import sys
import tempfile
from typing import Any

from bench.environment import SETTINGS

os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
os.environ["EVENTBANK_DATA_DIR"] = tempfile.mkdtemp(prefix="eventbank-orm-check-")
atexit.register(shutil.rmtree, os.environ["EVENTBANK_DATA_DIR"], ignore_errors=True)
# SQLite in that directory: never the caller's database, nor its event stores.
for name in (
    "DATABASE_URL",
    "LEDGER_EVENTSTORE_URL",
    "ORDERS_EVENTSTORE_URL",
    "COMPLIANCE_EVENTSTORE_URL",
    "CUSTOMERS_EVENTSTORE_URL",
):
    os.environ.pop(name, None)
os.environ["EVENTBANK_BEHIND_TLS"] = "0"  # the test client speaks plain HTTP

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from bench.orm.models import OrmAccount, OrmEntry  # noqa: E402

URL = "/bench/orm-transfers/"
TRANSFERS = 20


def balances() -> list[int]:
    return list(OrmAccount.objects.order_by("id").values_list("balance", flat=True))


def check() -> dict[str, Any]:
    """What the view answered, and the balances before and after each part."""
    call_command("migrate", verbosity=0)
    setup_test_environment()  # the test client's host is allowed
    user = get_user_model().objects.create_user("peer", password=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    accounts = [OrmAccount.objects.create(owner="peer", balance=1000_00).pk for _ in range(4)]
    seen: dict[str, Any] = {"before": balances(), "transfers": []}

    rng = random.Random(1)
    for _ in range(TRANSFERS):
        a, b = rng.sample(range(len(accounts)), 2)
        body = {"from_account": accounts[a], "to_account": accounts[b], "amount": "12.34"}
        answer = client.post(URL, body, format="json")
        seen["transfers"].append([a, b, answer.status_code])
    seen["after_transfers"] = balances()
    seen["entries"] = OrmEntry.objects.count()

    more_than_all = {"from_account": accounts[0], "to_account": accounts[1], "amount": "5000.00"}
    overdraft = client.post(URL, more_than_all, format="json")
    seen["overdraft"] = [overdraft.status_code, overdraft.json().get("code")]
    seen["after_overdraft"] = balances()
    seen["without_token"] = APIClient().post(URL, more_than_all, format="json").status_code
    return seen


if __name__ == "__main__":
    json.dump(check(), sys.stdout)
