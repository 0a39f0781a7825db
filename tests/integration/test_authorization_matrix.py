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
from config.graphql import schema
from customers.domain import PersonalData
from ledger.application import TransferInstruction
from tests.support import funded, graphql, project_everything

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
    # The owner is the world's hold's payer and payee both (tests/integration/test_holds_api.py
    # has the payer refused the payee's moves).
    ("holds", "POST"): Rule(
        "/api/holds/",
        **customers(201),
        body={"from_account": "{account}", "to_account": "{savings}", "amount": "1.00"},
    ),
    ("hold-detail", "GET"): Rule("/api/holds/{hold}/", **customers(200)),
    ("hold-capture", "POST"): Rule("/api/holds/{hold}/capture/", **customers(200), body={}),
    ("hold-void", "POST"): Rule("/api/holds/{hold}/void/", **customers(200), body={}),
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
    # A profile is a customer's own (another has none yet: 404); staff have none of their own,
    # and read or forget a customer's at its URL.
    ("my-profile", "GET"): Rule("/api/me/profile/", 401, 200, 404, 403),
    ("my-profile", "PUT"): Rule(
        "/api/me/profile/", 401, 200, 200, 403, body={"full_name": "O", "email": "o@example.org"}
    ),
    ("customer-profile", "GET"): Rule("/api/customers/owner/profile/", 401, 403, 403, 200),
    ("customer-forget", "POST"): Rule("/api/customers/owner/forget/", 401, 403, 403, 200),
    # GraphQL: anyone reaches the door (GraphiQL in a browser); a query needs a login.
    # What each root field answers each role is GRAPHQL_MATRIX's, below.
    ("graphql", "GET"): Rule("/graphql?query=%7Bme%7Busername%7D%7D", **customers(200, other=200)),
    ("graphql", "POST"): Rule(
        "/graphql", **customers(200, other=200), body={"query": "{{ me {{ username }} }}"}
    ),
    # Live updates: a login to open a stream; what each stream shows each role is
    # tests/integration/test_live.py's. 503: the test client is no ASGI server, and has no NATS.
    ("live", "GET"): Rule("/api/live/", 401, {200, 503}, {200, 503}, {200, 503}),
    ("live-page", "GET"): Rule("/live/", 302, 200, 200, 200),
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
    """An owner with accounts, a transfer, a hold and an order; a product; an alert;
    projections."""
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
    hold = ledger.place_hold(account, savings, 100)
    container.customers.update_profile("owner", PersonalData(full_name="O", email="o@example.org"))
    alert = container.compliance.raise_alert(
        transfer.id, account, 1_200_000, "EUR", "large_transfer", "big"
    ).id
    project_everything(container)
    ids: dict[str, UUID] = {
        "account": account, "savings": savings, "empty": empty, "frozen": frozen,
        "transfer": transfer.id, "order": order, "alert": alert, "batch": batch.id,
        "hold": hold.id,
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
        send = client.put if method == "PUT" else client.post
        response = send(path, fill(rule.body, ids), format="json")
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


# --- GraphQL: every root field, as every role -------------------------------------------------

OK, NOT_FOUND, STAFF_ONLY = "answered", "not_found", "permission_denied"


@dataclass(frozen=True)
class Operation:
    document: str  # with $variables named after the world's ids
    owner: str
    other: str
    staff: str = OK

    def expected(self, role: str) -> str:
        return str(getattr(self, role))


def own(outcome: str = OK, *, other: str = NOT_FOUND) -> dict[str, str]:
    """The owner's and staff's are answered; another customer's, ``other``."""
    return {"owner": outcome, "other": other}


TRANSFER_INPUT = '{fromAccount: $account, toAccount: $savings, amount: "1.00"}'
GRAPHQL_MATRIX: dict[str, Operation] = {
    "me": Operation("{ me { username } }", **own(other=OK)),
    "accounts": Operation("{ accounts { totalCount } }", **own(other=OK)),
    "account": Operation("query($account: UUID!) { account(id: $account) { id } }", **own()),
    "transactions": Operation(
        "query($account: UUID!) { transactions(account: $account) { totalCount } }", **own()
    ),
    "transfers": Operation("{ transfers { totalCount } }", **own(other=OK)),
    "transfer": Operation("query($transfer: UUID!) { transfer(id: $transfer) { id } }", **own()),
    "products": Operation("{ products { totalCount } }", **own(other=OK)),
    "orders": Operation("{ orders { totalCount } }", **own(other=OK)),
    "order": Operation("query($order: UUID!) { order(id: $order) { id } }", **own()),
    "orderWithHistory": Operation(
        "query($order: UUID!) { orderWithHistory(id: $order) { allEvents } }", **own()
    ),
    "alerts": Operation("{ alerts { totalCount } }", owner=STAFF_ONLY, other=STAFF_ONLY),
    "transferFunds": Operation(
        "mutation($account: UUID!, $savings: UUID!) { "
        f"transferFunds(input: {TRANSFER_INPUT}) {{ position }} }}",
        **own(),
    ),
    "placeOrder": Operation(
        "mutation($account: UUID!) { placeOrder(input: "
        '{account: $account, items: [{sku: "MUG", quantity: 1}]}) { position } }',
        **own(),
    ),
    "cancelOrder": Operation(
        "mutation($order: UUID!) { cancelOrder(id: $order) { position } }", **own()
    ),
}


def test_every_graphql_root_field_has_a_rule() -> None:
    fields = {
        field.name
        for root in (schema.query, schema.mutation)
        for field in root.__strawberry_definition__.fields  # type: ignore[union-attr]
    }
    assert {schema.config.name_converter.apply_naming_config(f) for f in fields} == set(
        GRAPHQL_MATRIX
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(GRAPHQL_MATRIX))
def test_each_role_gets_the_graphql_answer_its_rule_says(
    container: Container, make_user: Any, client_for: Any, name: str, role: str
) -> None:
    operation = GRAPHQL_MATRIX[name]
    ids = world(container, make_user)
    client = client_as(role, make_user, client_for)
    used = {k: v for k, v in ids.items() if f"${k}" in operation.document}
    response = graphql(client, operation.document, used)
    if role == "anonymous":
        assert response.status_code == 401
        return
    answer = response.json()
    codes = [error["extensions"]["code"] for error in answer.get("errors", [])]
    outcome = codes[0] if codes else OK
    assert outcome == operation.expected(role), f"{name} as {role}: {answer}"
    if outcome != OK:
        assert answer["data"] == {name: None}  # nothing of it leaks
