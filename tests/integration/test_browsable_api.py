"""The API in a browser: DRF's browsable pages for a session-logged-in user, and Swagger UI."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from config.container import Container
from tests.support import funded

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(make_user) -> Client:
    """A browser whose user logged in with a session (as through /api-auth/login/)."""
    client = Client()
    client.force_login(make_user("alice"))
    return client


@pytest.mark.parametrize("path", ["/api/accounts/", "/api/orders/", "/api/products/"])
def test_a_logged_in_user_browses_the_lists_as_html(browser: Client, path: str) -> None:
    response = browser.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Django REST framework" in response.content


def test_a_logged_in_user_browses_an_account_read_from_its_aggregate(
    browser: Client, container: Container
) -> None:
    account = funded(container.ledger, 12_50, owner="alice")
    response = browser.get(f"/api/accounts/{account}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert b"12.50" in response.content


def test_a_stranger_browsing_is_asked_to_log_in(client: Client) -> None:
    response = client.get("/api/accounts/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert b"not_authenticated" in response.content


def test_swagger_ui_is_served_from_the_installed_package(client: Client) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content
    # Every script and style comes from this server (a path), none from another host; the page
    # holds a random CSRF token, so no substring test of its text can say so reliably.
    links = re.findall(rb'(?:src|href)\s*=\s*["\']([^"\']+)', page.content)
    assert links and all(link.startswith(b"/") and not link.startswith(b"//") for link in links)
    assert not re.search(rb'url\s*:\s*["\']https?://', page.content)
