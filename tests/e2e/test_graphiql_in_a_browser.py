"""GraphiQL at ``/graphql`` in a real browser (Debian's chromium, headless) that can reach no
host but the system's own: a customer logs in, opens GraphiQL, runs a query with its session
(the page sends the CSRF token back), and reads the answer; every request the page made went to
the site itself. Skipped where chromium is not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import RunningSystem, chromium, needs_chromium
from tests.support import wait_for

pytestmark = [pytest.mark.slow, needs_chromium]

QUERY = "{ me { username isStaff } accounts { totalCount } }"
# Every name resolves to nothing but the machine itself: the page must need nothing else.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
ASSETS = (
    "graphiql/react/react.production.min.js",
    "graphiql/react-dom/react-dom.production.min.js",
    "graphiql/js-cookie/js.cookie.min.js",
    "graphiql/graphiql/graphiql.min.js",
    "graphiql/graphiql/graphiql.min.css",
    "graphiql/plugin-explorer/index.umd.js",
    "graphiql/plugin-explorer/style.css",
)


def test_graphiql_runs_a_query_offline_with_a_session(
    start_system: Callable[..., RunningSystem], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    system = start_system()
    password = "graphiql-pass-42"
    system.customer_token("grace", password)
    with chromium(1400, 900, OFFLINE) as browser:
        browser.get(f"{system.base_url}/api-auth/login/")
        browser.find_element(By.NAME, "username").send_keys("grace")
        field = browser.find_element(By.NAME, "password")
        field.send_keys(password)
        field.submit()
        wait_for(lambda: "/login/" not in browser.current_url, timeout=10, what="the login")

        browser.get(f"{system.base_url}/graphql?q={quote(QUERY)}")
        run = wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, ".graphiql-execute-button"),
            timeout=30,
            what="GraphiQL to render",
        )
        run[0].click()
        wait_for(
            lambda: '"username": "grace"' in browser.find_element(By.TAG_NAME, "body").text,
            timeout=30,
            what="the query's answer in GraphiQL",
        )
        browser.save_screenshot(str(tmp_path / "graphiql.png"))
        body = browser.find_element(By.TAG_NAME, "body").text
        assert '"isStaff": false' in body and '"totalCount": 0' in body

        requested = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        referenced = browser.execute_script(
            "return [...document.querySelectorAll('script[src], link[href]')]"
            ".map(e => e.src || e.href).filter(u => !u.startsWith('data:'))"
        )
    elsewhere = [u for u in [*requested, *referenced] if not u.startswith(system.base_url + "/")]
    assert elsewhere == [], f"requests that left the site: {elsewhere}"
    for asset in ASSETS:
        assert any(u.endswith(f"/static/{asset}") for u in requested), asset
    assert f"{system.base_url}/graphql" in requested  # the query itself, a POST of the session
