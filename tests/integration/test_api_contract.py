"""The API against its own OpenAPI schema: the schema is valid, and a few hundred generated
requests (schemathesis, deterministic), as a customer and as staff, find no server error and no
answer the schema does not describe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from schemathesis.core.result import Ok

from config.container import Container
from config.wsgi import application
from tests.support import funded

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 15


@schemathesis.check
def no_server_error(ctx: Any, response: Any, case: Any) -> None:
    """Schemathesis's not_a_server_error, less the one documented 503: a ``min_position`` no
    projection has reached (generated positions are far beyond any write)."""
    if response.status_code < 500:
        return
    if response.status_code == 503 and response.json().get("code") == "projection_behind":
        return
    raise AssertionError(f"{response.status_code}: {response.text[:500]}")


CHECKS = [
    no_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def test_the_schema_is_valid_openapi_3(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    validate(response.json())


def test_the_schema_generates_without_warnings(tmp_path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


def test_every_operation_documents_its_errors_with_the_one_error_body(client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
            assert errors, f"{method} {path} documents no error"
            for status, response in errors.items():
                body = response["content"]["application/json"]
                assert body["schema"] == {"$ref": "#/components/schemas/ErrorOutput"}, status
                assert body["examples"], f"{method} {path} {status} has no example"
            if path != "/api/auth/token/":
                assert "401" in errors, f"{method} {path}"


@dataclass(frozen=True)
class World:
    """Things that exist, so that generated requests reach past "not found"."""

    ids: dict[str, str]  # path parameter or body field -> an id that exists

    def substitute(self, case: Any) -> None:
        for name in list(case.path_parameters or {}):
            if name in self.ids:
                case.path_parameters[name] = self.ids[name]
        if isinstance(case.body, dict):
            for name in ("account", "from_account", "to_account"):
                if name in case.body:
                    case.body[name] = self.ids[name]
            if "amount" in case.body:
                case.body["amount"] = "1.00"
            for item in case.body.get("items") or []:
                if isinstance(item, dict):
                    item["sku"] = self.ids["sku"]


@pytest.fixture
def world(container: Container) -> World:
    ledger, orders = container.ledger, container.orders
    current = funded(ledger, 10_000_00, owner="alice")
    savings = ledger.open_account("alice", "EUR").id
    orders.create_product("mug", "Enamel mug", 8_00, 1_000)
    placed = orders.place_order("alice", current, [("mug", 1)])
    transfer = ledger.transfer_funds(current, savings, 1_00)
    alert = container.compliance.raise_alert(
        transfer.id, current, 1_00, "EUR", "large_transfer", "for the contract test"
    )
    ids: dict[str, UUID | str] = {
        "account_id": current, "account": current, "from_account": current,
        "to_account": savings, "order_id": placed.order_id, "transfer_id": transfer.id,
        "alert_id": alert.id, "sku": "mug",
    }  # fmt: skip
    return World({name: str(value) for name, value in ids.items()})


@pytest.mark.parametrize("staff", [False, True], ids=["customer", "staff"])
def test_generated_requests_get_answers_the_schema_describes(
    staff: bool, world: World, make_user, settings
) -> None:
    settings.READ_YOUR_WRITES_TIMEOUT_SECONDS = 0  # a position never reached: answer at once
    user = make_user("alice") if not staff else make_user("operator", staff=True)
    token, _ = Token.objects.get_or_create(user=user)
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation's schema could be read
        operation = result.ok()

        @given(case=operation.as_strategy(), existing=st.booleans())
        @examples(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_described(case: Any, existing: bool) -> None:
            if existing:
                world.substitute(case)
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            answers_as_described()
        except BaseException as failure:  # schemathesis groups its failures
            if not isinstance(failure, Exception | BaseExceptionGroup):
                raise
            failures[operation.label] = str(failure)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
