"""The live page, ``/live/``, in a real browser (Debian's chromium, headless) that can reach no
host but the system's own: a customer logs in, opens the page, makes a transfer over the API,
and sees its events appear as they are published; every request the page made went to the
site itself. Skipped where chromium is not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningSystem, chromium, needs_chromium
from tests.e2e.test_graphiql_in_a_browser import OFFLINE
from tests.support import wait_for

pytestmark = [pytest.mark.slow, needs_chromium]


def test_the_live_page_shows_a_transfer_as_it_happens(
    start_system: Callable[..., RunningSystem], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    system = start_system()
    password = "live-pass-42"
    lena = system.customer_token("lena", password)
    operator = system.operator_token()
    current, savings = system.funded_accounts(lena, operator, "50.00")
    with chromium(1400, 900, OFFLINE) as browser:
        browser.get(f"{system.base_url}/live/")  # anyone else is sent to the login
        browser.find_element(By.NAME, "username").send_keys("lena")
        field = browser.find_element(By.NAME, "password")
        field.send_keys(password)
        field.submit()
        wait_for(lambda: browser.current_url.endswith("/live/"), timeout=10, what="the page")
        wait_for(
            lambda: browser.find_element(By.ID, "state").text == "open",
            timeout=30,
            what="the stream to open",
        )

        transfer = system.post(
            "/api/transfers/",
            {"from_account": current, "to_account": savings, "amount": "12.50"},
            token=lena,
        )
        assert transfer.status == 201, transfer.body
        selector = f'tr[data-type="transfer.completed"][data-aggregate="{transfer.body["id"]}"]'
        (row,) = wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, selector),
            timeout=30,
            what="the transfer's completion on the page",
        )
        assert "amount 12.50" in row.text
        types = [
            r.get_attribute("data-type")
            for r in browser.find_elements(By.CSS_SELECTOR, "#events tr")
        ]
        assert {"account.debited", "account.credited", "transfer.started"} <= set(types)
        assert types[0] == "transfer.completed"  # the newest on top
        browser.save_screenshot(str(tmp_path / "live.png"))

        requested = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
    elsewhere = [u for u in requested if not u.startswith(system.base_url + "/")]
    assert elsewhere == [], f"requests that left the site: {elsewhere}"
    assert f"{system.base_url}/static/live/live.js" in requested
