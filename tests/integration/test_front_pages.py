"""The front doors: ``/`` is a page for people linking every part, and ``/api/`` lists where
each part of the API lives; neither is a bare 404 any more."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_front_page_links_the_api_docs_the_api_the_admin_and_health() -> None:
    page = Client().get("/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    links = set(re.findall(r'href="([^"]+)"', page.content.decode()))
    assert {"/api/docs/", "/api/", "/admin/", "/healthz"} <= links
    for link in links - {"/healthz"}:  # each leads somewhere (a login, at worst); health
        assert Client().get(link).status_code in (200, 302), link  # is 503 with no NATS here


def test_the_admins_view_site_link_leads_to_it(admin_client: Client) -> None:
    assert 'href="/"' in admin_client.get("/admin/").content.decode()


def test_the_api_root_lists_each_part_by_its_absolute_url() -> None:
    root = Client().get("/api/", headers={"Accept": "application/json"})
    assert root.status_code == 200
    parts = root.json()
    assert set(parts) == {
        "docs", "schema", "token", "accounts", "transfers", "products", "orders", "alerts",
        "profile",
    }  # fmt: skip
    assert parts["accounts"] == "http://testserver/api/accounts/"
    for part, url in parts.items():
        path = url.removeprefix("http://testserver")
        expected = 405 if part == "token" else (200 if part in ("docs", "schema") else 401)
        assert Client().get(path).status_code == expected, part


def test_the_api_root_refuses_a_wrong_token_as_the_api_does() -> None:
    refused = Client().get("/api/", headers={"Authorization": "Token not-a-token"})
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"


def test_in_a_browser_the_api_root_is_the_browsable_api() -> None:
    page = Client().get("/api/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "/api/accounts/" in page.content.decode()


@pytest.mark.parametrize("path", ["/", "/api/"])
def test_they_are_read_only(path: str) -> None:
    assert Client().post(path).status_code == 405
