"""What an outside client can send over HTTP to the running system (granian in front of
Django): a chunked body is read, an oversized one refused, and a few bytes of amount cannot
hold a web worker."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow


def send(base_url: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    """One request with ``body`` as given: chunked when the headers say so."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=20)
    try:
        chunked = headers.get("Transfer-Encoding") == "chunked"
        if chunked:
            connection.putrequest(method, path)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            for start in range(0, len(body), 7):  # small chunks, as a streaming client sends
                chunk = body[start : start + 7]
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        else:
            connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_hostile_bodies_over_http(start_system) -> None:
    system = start_system()
    alice = system.customer_token("alice", "wonderland-42")
    operator = system.operator_token()
    checking, savings = system.funded_accounts(alice, operator, "100.00")
    headers = {"Authorization": f"Token {alice}", "Content-Type": "application/json"}
    transfer = json.dumps({"from_account": checking, "to_account": savings, "amount": "1.00"})

    # A chunked body is read (it was read as empty: 400 "This field is required").
    status, body = send(
        system.base_url, "POST", "/api/transfers/", transfer.encode(),
        {**headers, "Transfer-Encoding": "chunked"},
    )  # fmt: skip
    assert (status, body["status"]) == (201, "completed"), body

    # A chunked body past the upload limit is refused as any other.
    status, body = send(
        system.base_url, "POST", "/api/transfers/", b'{"reference": "' + b"x" * 300_000 + b'"}',
        {**headers, "Transfer-Encoding": "chunked"},
    )  # fmt: skip
    assert (status, body["code"]) == (400, "invalid"), body

    # 22 bytes that held a worker for ~50 s (and every request queued behind it): refused at
    # once, while the server goes on answering. The client's 20 s timeout is the bound.
    huge = b'{"amount": 1E+999997}'
    with ThreadPoolExecutor(8) as pool:
        withdrawals = [
            pool.submit(
                send, system.base_url, "POST", f"/api/accounts/{checking}/withdrawals/", huge,
                headers,
            )
            for _ in range(8)
        ]  # fmt: skip
        read = system.get(f"/api/accounts/{checking}/", token=alice)
        answers = [w.result() for w in withdrawals]
    assert read.status == 200 and read.body["balance"] == "99.00"
    assert {(status, body["code"]) for status, body in answers} == {(400, "invalid")}
