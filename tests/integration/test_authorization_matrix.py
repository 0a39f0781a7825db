"""Who may do what, for every URL the site serves: anonymous, the owner of the object, another
customer, and staff. The matrix must name every URL pattern (a new endpoint without a rule
fails ``test_every_url_has_a_rule``), and every rule is checked against the code: each role's
request runs on a world of its own, so one role's write cannot change another's answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from config.container import Container
from ledger.application import TransferInstruction
from messaging.replay import replay_from_store
from projections.projectors import PROJECTORS
from tests.support import funded

pytestmark = pytest.mark.django_db
ROLES = ("anonymous", "owner", "other", "staff")


@dataclass(frozen=True)
class Rule:
    path: str  # with {placeholders} filled from the world
    anonymous: int | set[int]
    owner: int | set[int]
    other: int | set[int]
    staff: int | set[int]
    body: Any = None

    def expected(self, role: str) -> set[int]:
        answer = getattr(self, role)
        return answer if isinstance(answer, set) else {answer}


def everyone(status: int | set[int]) -> dict[str, int | set[int]]:
    return dict.fromkeys(ROLES, status)


def customers(status: int, *, other: int = 404, staff: int | None = None) -> dict[str, Any]:
    """Signed-in customers may; anonymous is 401; another customer's object is a 404."""
    return {"anonymous": 401, "owner": status, "other": other, "staff": staff or status}


STAFF_ONLY_WRITE = {"anonymous": 401, "owner": 403, "other": 403}

MATRIX: dict[tuple[str, str], Rule] = {
    ("auth-token", "POST"): Rule(
        "/api/auth/token/", **everyone(200), body={"username": "owner", "password": "pw-owner-42"}
    ),
    ("home", "GET"): Rule("/", **everyone(200)),
    ("api-root", "GET"): Rule("/api/", **everyone(200)),
    ("schema", "GET"): Rule("/api/schema/", **everyone(200)),
    ("docs", "GET"): Rule("/api/docs/", **everyone(200)),
    ("accounts", "GET"): Rule("/api/accounts/", **customers(200, other=200)),
    ("accounts", "POST"): Rule("/api/accounts/", **customers(201, other=201), body={}),
    ("account-detail", "GET"): Rule("/api/accounts/{account}/", **customers(200)),
    ("account-deposits", "POST"): Rule(
        "/api/accounts/{account}/deposits/", **STAFF_ONLY_WRITE, staff=201, body={"amount": "1.00"}
    ),
    ("account-withdrawals", "POST"): Rule(
        "/api/accounts/{account}/withdrawals/", **customers(201), body={"amount": "1.00"}
    ),
    ("account-events", "GET"): Rule("/api/accounts/{account}/events/", **customers(200)),
    ("account-transactions", "GET"): Rule(
        "/api/accounts/{account}/transactions/", **customers(200)
    ),
    ("account-freeze", "POST"): Rule(
        "/api/accounts/{account}/freeze/", **STAFF_ONLY_WRITE, staff=200, body={"reason": "check"}
    ),
    ("account-unfreeze", "POST"): Rule(
        "/api/accounts/{frozen}/unfreeze/", **STAFF_ONLY_WRITE, staff=200, body={}
    ),
    ("account-close", "POST"): Rule("/api/accounts/{empty}/close/", **customers(200), body={}),
    ("transfers", "GET"): Rule("/api/transfers/", **customers(200, other=200)),
    ("transfers", "POST"): Rule(
        "/api/transfers/",
        **customers(201),
        body={"from_account": "{account}", "to_account": "{savings}", "amount": "1.00"},
    ),
    ("transfer-detail", "GET"): Rule("/api/transfers/{transfer}/", **customers(200)),
    ("transfer-batches", "POST"): Rule(
        "/api/transfer-batches/",
        **customers(201),
        body={
            "transfers": [{"from_account": "{account}", "to_account": "{savings}", "amount": "1"}]
        },
    ),
    ("transfer-batch-detail", "GET"): Rule("/api/transfer-batches/{batch}/", **customers(200)),
    ("products", "GET"): Rule("/api/products/", **customers(200, other=200)),
    ("products", "POST"): Rule(
        "/api/products/",
        **STAFF_ONLY_WRITE,
        staff=201,
        body={"sku": "TEA", "name": "Tea", "price": "4.99", "stock": 3},
    ),
    ("product-stock", "POST"): Rule(
        "/api/products/MUG/stock/", **STAFF_ONLY_WRITE, staff=201, body={"quantity": 1}
    ),
    ("orders", "GET"): Rule("/api/orders/", **customers(200, other=200)),
    ("orders", "POST"): Rule(
        "/api/orders/",
        **customers(201),
        body={"account": "{account}", "items": [{"sku": "MUG", "quantity": 1}]},
    ),
    ("order-detail", "GET"): Rule("/api/orders/{order}/", **customers(200)),
    ("order-history", "GET"): Rule("/api/orders/{order}/history/", **customers(200)),
    ("order-ship", "POST"): Rule("/api/orders/{order}/ship/", **STAFF_ONLY_WRITE, staff=200),
    ("order-cancel", "POST"): Rule("/api/orders/{order}/cancel/", **customers(200), body={}),
    ("alerts", "GET"): Rule("/api/compliance/alerts/", 401, 403, 403, 200),
    ("alert-resolve", "POST"): Rule(
        "/api/compliance/alerts/{alert}/resolve/", 401, 403, 403, 200, body={"decision": "cleared"}
    ),
    ("login", "GET"): Rule("/api-auth/login/", **everyone(200)),
    ("logout", "POST"): Rule("/api-auth/logout/", **everyone(200), body={}),
    ("healthz", "GET"): Rule("/healthz", **everyone({200, 503})),  # 503: no NATS in this test
    ("metrics", "GET"): Rule("/metrics", 401, 403, 403, 200),
    # The admin, every page of it: staff only; anyone else is sent to the login page.
    ("admin:*", "GET"): Rule("/admin/", 302, 302, 302, 200),
}


def url_names() -> set[str]:
    def walk(resolver: URLResolver, namespace: str | None) -> set[str]:
        found: set[str] = set()
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                found |= {"admin:*"} if inner == "admin" else walk(pattern, inner)
            elif isinstance(pattern, URLPattern):
                found.add(str(pattern.name))
        return found

    return walk(get_resolver(), None)


def test_every_url_has_a_rule() -> None:
    missing = url_names() - {name for name, _ in MATRIX}
    assert not missing, f"URLs with no authorization rule: {sorted(missing)}"


def world(container: Container, make_user: Any) -> dict[str, str]:
    """An owner with accounts, a transfer and an order; a product; an alert; projections."""
    owner = make_user("owner")
    owner.set_password("pw-owner-42")
    owner.save()
    ledger, orders = container.ledger, container.orders
    account = funded(ledger, 100_000, owner="owner")
    savings = funded(ledger, 0, owner="owner")
    empty = funded(ledger, 0, owner="owner")
    frozen = funded(ledger, 0, owner="owner")
    ledger.freeze_account(frozen, "check")
    transfer = ledger.transfer_funds(account, savings, 100)
    batch, _ = ledger.transfer_batch(
        [TransferInstruction(account, savings, 100)], submitted_by="owner"
    )
    orders.create_product("MUG", "Mug", 1_250, 5)
    order = orders.place_order("owner", account, [("MUG", 1)]).order_id
    alert = container.compliance.raise_alert(
        transfer.id, account, 1_200_000, "EUR", "large_transfer", "big"
    ).id
    for projector in PROJECTORS.values():
        replay_from_store(projector(), container.applications)
    ids: dict[str, UUID] = {
        "account": account, "savings": savings, "empty": empty, "frozen": frozen,
        "transfer": transfer.id, "order": order, "alert": alert, "batch": batch.id,
    }  # fmt: skip
    return {name: str(value) for name, value in ids.items()}


def client_as(role: str, make_user: Any, client_for: Any) -> APIClient:
    """A client with a token and a session (the admin and /metrics take sessions only)."""
    if role == "anonymous":
        return APIClient()
    if role == "staff":
        user = make_user("staff-user", staff=True)
        user.is_superuser = True
        user.save()
    elif role == "owner":
        user = get_user_model().objects.get(username="owner")
    else:
        user = make_user()
    client = client_for(user)
    client.force_login(user)
    return client


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), list(MATRIX), ids=[f"{m} {n}" for n, m in MATRIX])
def test_each_role_gets_the_answer_its_rule_says(
    container: Container,
    make_user: Any,
    client_for: Any,
    name: str,
    method: str,
    role: str,
) -> None:
    rule = MATRIX[(name, method)]
    ids = world(container, make_user)
    client = client_as(role, make_user, client_for)
    path = fill(rule.path, ids)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, fill(rule.body, ids), format="json")
    assert response.status_code in rule.expected(role), (
        f"{method} {path} as {role}: {response.status_code} "
        f"{getattr(response, 'data', None) or response.content[:200]!r}"
    )


def test_a_session_write_without_its_csrf_token_is_refused_and_changes_nothing(
    container: Container, make_user: Any
) -> None:
    """A browser's session is not enough to write: the CSRF token must come with it (a token
    client is not a browser, so it needs none)."""
    user = make_user("browser")
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    before = container.ledger.max_position()
    refused = browser.post("/api/accounts/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert container.ledger.max_position() == before
    token = browser.get("/api-auth/login/").cookies["csrftoken"].value
    allowed = browser.post("/api/accounts/", {}, format="json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 201
