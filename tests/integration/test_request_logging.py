"""Each request is logged once, as one JSON object carrying its correlation id (production
logging: DJANGO_DEBUG off), so every line of one request can be found by its X-Correlation-ID."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.test import Client

from api.logging import JsonFormatter
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the configured console handler writes, captured."""
    (console,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    assert isinstance(console, logging.StreamHandler)
    captured = io.StringIO()
    previous = console.setStream(captured)
    yield captured
    console.setStream(previous)


def test_a_requests_log_line_is_json_with_its_correlation_id(log_lines: io.StringIO) -> None:
    response = Client().get("/api/accounts/", headers={"X-Correlation-ID": "trace-42"})
    assert response.status_code == 401
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    (request,) = [line for line in lines if line["logger"] == "eventbank.requests"]
    assert request["correlation_id"] == "trace-42"
    assert (request["method"], request["path"], request["status"]) == ("GET", "/api/accounts/", 401)
    assert request["message"].startswith("GET /api/accounts/ 401 ")
    assert request["level"] == "INFO" and request["time"].endswith("Z")
    refused = [line for line in lines if line["logger"] == "django.request"]
    assert [line["message"] for line in refused] == ["Unauthorized: /api/accounts/"]
    assert {line["correlation_id"] for line in lines} == {"trace-42"}  # every line of it


def test_a_line_outside_any_request_has_a_null_correlation_id(log_lines: io.StringIO) -> None:
    logging.getLogger("eventbank.test").warning("no request here")
    (line,) = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert (line["message"], line["correlation_id"]) == ("no request here", None)


def test_an_exception_is_logged_with_its_traceback(log_lines: io.StringIO) -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("eventbank.test").exception("it broke")
    (line,) = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert line["level"] == "ERROR" and "ValueError: broken" in line["exception"]


@pytest.mark.parametrize(("debug", "formatter"), [("1", "plain"), ("0", "json")])
def test_debug_keeps_the_plain_format(debug: str, formatter: str) -> None:
    show = "print(settings.LOGGING['handlers']['console']['formatter'])"
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "DJANGO_DEBUG": debug, "PATH": "/usr/bin"}
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; {show}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    assert result.stdout.strip() == formatter
