"""Every answer under /api/, /healthz and /metrics that is not a success is the one JSON error
body, whoever gives it: DRF, Django's URL resolver (an id that is no UUID), a plain view
refusing a method (before any CSRF check), or a crash; and query parameters are taken only as
the schema describes them, never adjusted or ignored silently."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.container import Container
from tests.integration.test_ledger_api import assert_error, open_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user, client_for) -> APIClient:
    return client_for(make_user("alice"))


BAD_IDS = [
    "null",
    str(uuid4()).upper(),
    "{" + str(uuid4()) + "}",
    f"urn:uuid:{uuid4()}",
    str(uuid4()).replace("-", ""),
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
]


@pytest.mark.parametrize("given", BAD_IDS)
@pytest.mark.parametrize(
    "path",
    [
        "/api/accounts/{}/",
        "/api/accounts/{}/events/",
        "/api/transfers/{}/",
        "/api/orders/{}/history/",
        "/api/compliance/alerts/{}/resolve/",
    ],
)
def test_a_path_id_that_is_no_uuid_is_a_json_404(alice: APIClient, path: str, given: str) -> None:
    method = "post" if path.endswith("resolve/") else "get"
    assert_error(getattr(alice, method)(path.format(given)), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/accounts/x/y/z/", "/api/x"])
def test_a_path_that_names_nothing_is_a_json_404(alice: APIClient, path: str) -> None:
    assert_error(alice.get(path), 404, "not_found")


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "POST", "OPTIONS"])
@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_a_read_only_page_refuses_other_methods_with_a_json_405(path: str, method: str) -> None:
    """With a session and no CSRF token, as a browser would send it: the method is refused,
    not the missing token (Django's HTML CSRF page)."""
    response = Client(enforce_csrf_checks=True).generic(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("method", ["OPTIONS", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["/api/docs/", "/api/schema/"])
def test_the_docs_and_the_schema_refuse_other_methods_in_json(path: str, method: str) -> None:
    assert_error(APIClient().generic(method, path), 405, "method_not_allowed")


def test_the_metrics_refusals_are_json(container: Container, make_user: Any) -> None:
    anonymous = Client().get("/metrics")
    assert_error(anonymous, 401, "not_authenticated")
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    customer = Client()
    customer.force_login(make_user())
    assert_error(customer.get("/metrics"), 403, "permission_denied")


def test_a_crash_under_api_is_a_json_500(alice: APIClient, monkeypatch) -> None:
    from ledger import apis

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("an error nothing expected")

    monkeypatch.setattr(apis, "owned_account", crash)
    alice.raise_request_exception = False
    response = alice.get(f"/api/accounts/{uuid4()}/")
    assert_error(response, 500, "error")
    assert "nothing expected" not in response.content.decode()  # no internals leak


QUERIES = [
    ("/api/accounts/", "page_size=0"),
    ("/api/accounts/", "page_size=-1"),
    ("/api/accounts/", f"page_size={10**9}"),
    ("/api/accounts/", "page_size=501"),
    ("/api/accounts/", "page_size=abc"),
    ("/api/accounts/", "page=0"),
    ("/api/accounts/", "page=last"),
    ("/api/accounts/", "page=%D9%A1"),
    ("/api/accounts/", "status="),
    ("/api/accounts/", "status=open&status=frozen"),
    ("/api/accounts/", "currency="),
    ("/api/transfers/", "until="),
    ("/api/transfers/", "account="),
    ("/api/orders/", "since="),
    ("/api/products/", "in_stock="),
    ("/api/orders/", "owner=%00"),
]


@pytest.mark.parametrize(("path", "query"), QUERIES, ids=[f"{p}?{q}" for p, q in QUERIES])
def test_query_parameters_are_taken_as_the_schema_says_or_refused(
    container: Container, alice: APIClient, path: str, query: str
) -> None:
    """DRF silently takes page_size=0 as the default, an empty ?status= as no filter, and the
    last of repeated ones; the schema promises none of that."""
    name = query.split("=")[0]
    assert name in assert_error(alice.get(f"{path}?{query}"), 400, "invalid")["details"]


def test_a_page_past_the_end_is_a_json_404(container: Container, alice: APIClient) -> None:
    open_account(alice)
    assert alice.get("/api/accounts/?page=1&page_size=500").status_code == 200
    assert_error(alice.get("/api/accounts/?page=2"), 404, "not_found")
