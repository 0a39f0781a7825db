"""The API's OpenAPI schema: valid, generated without warnings, every error documented with the
one error body. (Generated requests against it run in tests/e2e/test_generated_requests.py.)"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


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
            if method != "get":  # every write may be throttled
                assert "429" in errors, f"{method} {path}"
