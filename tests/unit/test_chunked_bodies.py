"""A chunked request body reaches Django with its length, when the server promises the stream
ends; without that promise it is 411, never read as empty."""

from __future__ import annotations

import io
import json
from typing import Any

from config.wsgi import with_chunked_bodies


def call(environ: dict[str, Any]) -> tuple[str, dict[str, Any], bytes]:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["length"] = environ.get("CONTENT_LENGTH")
        seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [])
        return [b"ok"]

    answered: list[str] = []
    body = b"".join(with_chunked_bodies(app)(environ, lambda s, h: answered.append(s)))
    return answered[0], seen, body


def test_a_chunked_body_is_handed_on_with_its_length() -> None:
    status, seen, _ = call(
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True,
         "wsgi.input": io.BytesIO(b'{"amount": "1.00"}')}
    )  # fmt: skip
    assert status == "200 OK" and seen == {"length": "18", "body": b'{"amount": "1.00"}'}


def test_it_is_read_only_to_one_byte_past_the_upload_limit(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    _, seen, _ = call(
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True,
         "wsgi.input": io.BytesIO(b"x" * 1000)}
    )  # fmt: skip
    assert seen["length"] == "11"  # Django refuses it as too large


def test_without_the_servers_promise_it_is_411() -> None:
    status, seen, body = call(
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"{}")}
    )
    assert status.startswith("411") and not seen
    assert json.loads(body)["code"] == "length_required"


def test_a_body_with_a_length_is_left_alone() -> None:
    stream = io.BytesIO(b"{}")
    _, seen, _ = call({"CONTENT_LENGTH": "2", "wsgi.input": stream})
    assert seen == {"length": "2", "body": b"{}"}
