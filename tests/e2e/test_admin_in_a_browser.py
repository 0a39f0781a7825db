"""The admin as a person sees it, in a real browser (Debian's chromium, headless, 1,400 pixels
wide) on the demo: lists fit the window with every id on one line, money reads as an amount
with its currency, a transfer's steps read as lines, and ids lead to what they name. The pages
are saved as screenshots beside the test's logs. Skipped where chromium is not installed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops.demo import ALICE_CURRENT, DEMO_PASSWORD, STAFF_USERNAME, demo_id
from tests.e2e.conftest import RunningSystem, chromium, needs_chromium
from tests.support import wait_for

pytestmark = [pytest.mark.slow, needs_chromium]

WIDTH, HEIGHT = 1400, 900
LISTS = [
    "projections/transfersummary",
    "projections/ordersummary",
    "projections/accountsummary",
    "projections/ledgerentry",
    "projections/alertsummary",
]


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium(WIDTH, HEIGHT) as driver:
        yield driver


def test_the_admin_reads_like_a_banks_pages_at_1400_pixels(
    start_system: Callable[..., RunningSystem], browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    system = start_system(extra_env={"EVENTBANK_SEED_DEMO": "1"})
    wait_for(lambda: system.get("/healthz").status == 200, timeout=60, what="a healthy system")
    operator = system.token_for(STAFF_USERNAME, DEMO_PASSWORD)
    wait_for(  # the demo has reached the projections
        lambda: system.get("/api/compliance/alerts/", token=operator).body["results"],
        timeout=30,
        what="the demo's projections",
    )

    browser.get(f"{system.base_url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(STAFF_USERNAME)
    browser.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(lambda: "Site administration" in browser.page_source, timeout=10, what="the index")

    def show(path: str, name: str) -> str:
        browser.get(f"{system.base_url}{path}")
        browser.save_screenshot(str(tmp_path / f"{name}.png"))
        return browser.page_source

    for model in LISTS:
        show(f"/admin/{model}/", model.split("/")[1])
        results = browser.find_element(By.CSS_SELECTOR, "#changelist .results")
        hidden = browser.execute_script(
            "return arguments[0].scrollWidth - arguments[0].clientWidth", results
        )
        assert hidden <= 0, f"{model}: {hidden} pixels of its columns are out of sight"
        wrapped = browser.execute_script(
            "return [...arguments[0].querySelectorAll('[title]')]"
            ".filter(e => e.getClientRects().length > 1).map(e => e.textContent)",
            results,
        )
        assert wrapped == [], f"{model}: ids wrapped over lines: {wrapped}"

    transfer = demo_id("transfer:house")
    page = show(f"/admin/projections/transfersummary/{transfer}/change/", "transfer")
    assert '<div class="readonly">12000.00&nbsp;EUR</div>' in page
    assert "debit_source succeeded<br>credit_destination succeeded" in page
    browser.find_element(By.CSS_SELECTOR, f'a[title="{ALICE_CURRENT}"]').click()
    assert f"/admin/projections/accountsummary/{ALICE_CURRENT}/change/" in browser.current_url
    browser.save_screenshot(str(tmp_path / "account.png"))
    assert "&nbsp;EUR" in browser.page_source

    order = demo_id("order:bob-teapot")
    page = show(f"/admin/projections/ordersummary/{order}/change/", "order")
    assert "&nbsp;EUR each" in page and "cents" not in page

    show("/admin/operations/events/", "event-browser")
    field = browser.find_element(By.NAME, "aggregate")
    field.send_keys(str(transfer))
    overflows = browser.execute_script(
        "return arguments[0].scrollWidth > arguments[0].clientWidth", field
    )
    assert not overflows, "the event browser's id field is narrower than an id"
