"""Hostile input on every write endpoint: malformed JSON, huge bodies, deep nesting, wrong
types, unicode digits, negative, overflowing and NaN amounts, unknown fields, SQL in ids, bad
personal data. Each answer is 400 with the one error body, and no event store has moved."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.container import Container
from tests.integration.test_ledger_api import assert_error
from tests.support import funded

pytestmark = pytest.mark.django_db
PROFILE = {  # a valid profile; the values are distinctive, so that an echo would be seen
    "full_name": "Ottoline Brackenbury-Quist",
    "email": "ottoline.bq.5521@example.net",
    "address": "4 Marram Row, Saltfleet Haven",
    "phone": "+44 7700 900218",
}


@dataclass
class Endpoint:
    path: str
    body: dict[str, Any]  # a valid body
    staff: bool = False
    method: str = "POST"


@pytest.fixture
def world(container: Container, make_user: Any) -> dict[str, Endpoint]:
    make_user("alice")
    account = funded(container.ledger, 100_000, owner="alice")
    other = funded(container.ledger, 0, owner="bob")
    container.orders.create_product("MUG", "Mug", 1_250, 5)
    alert = container.compliance.raise_alert(
        other, account, 1_200_000, "EUR", "large_transfer", "big"
    )
    hold = container.ledger.place_hold(account, other, 100)  # alice's, for bob (staff settles)
    return {
        "open": Endpoint("/api/accounts/", {"currency": "EUR"}),
        "deposit": Endpoint(f"/api/accounts/{account}/deposits/", {"amount": "1.00"}, staff=True),
        "withdraw": Endpoint(f"/api/accounts/{account}/withdrawals/", {"amount": "1.00"}),
        "transfer": Endpoint(
            "/api/transfers/",
            {"from_account": str(account), "to_account": str(other), "amount": "1.00"},
        ),
        "batch": Endpoint(
            "/api/transfer-batches/",
            {
                "transfers": [
                    {"from_account": str(account), "to_account": str(other), "amount": "1"}
                ]
            },
        ),
        "freeze": Endpoint(f"/api/accounts/{account}/freeze/", {"reason": "x"}, staff=True),
        "product": Endpoint(
            "/api/products/",
            {"sku": "TEA", "name": "Tea", "price": "4.99", "stock": 3},
            staff=True,
        ),
        "stock": Endpoint("/api/products/MUG/stock/", {"quantity": 2}, staff=True),
        "order": Endpoint(
            "/api/orders/", {"account": str(account), "items": [{"sku": "MUG", "quantity": 1}]}
        ),
        "resolve": Endpoint(
            f"/api/compliance/alerts/{alert.id}/resolve/", {"decision": "cleared"}, staff=True
        ),
        "hold": Endpoint(
            "/api/holds/",
            {"from_account": str(account), "to_account": str(other), "amount": "1.00"},
        ),
        "capture": Endpoint(f"/api/holds/{hold.id}/capture/", {"amount": "0.50"}, staff=True),
        "profile": Endpoint("/api/me/profile/", PROFILE, method="PUT"),
    }


@pytest.fixture
def send(
    world: dict[str, Endpoint], container: Container, client_for: Any, staff_client: APIClient
) -> Callable[[str, bytes], Any]:
    """POST raw bytes to an endpoint as the right user; assert no store moved."""
    from django.contrib.auth import get_user_model

    alice = client_for(get_user_model().objects.get(username="alice"))

    def post(name: str, raw: bytes) -> Any:
        before = {c: app.max_position() for c, app in container.applications.items()}
        client = staff_client if world[name].staff else alice
        endpoint = world[name]
        response = client.generic(endpoint.method, endpoint.path, raw, "application/json")  # type: ignore[arg-type]  # bytes, as sent
        after = {c: app.max_position() for c, app in container.applications.items()}
        assert after == before, f"{name}: a refused request changed the stores"
        return response

    return post


ENDPOINTS = [
    "open", "deposit", "withdraw", "transfer", "batch", "freeze", "product", "stock", "order",
    "resolve", "hold", "capture", "profile",
]  # fmt: skip
RAW = {
    "malformed": b'{"amount": "1.00"',
    "empty": b"",
    "a list": b"[]",
    "null": b"null",
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "huge": b'{"amount": "' + b"9" * 600_000 + b'"}',
    "NaN literal": b'{"amount": NaN}',
    "not utf-8": b'{"amount": "\xff\xfe"}',
}


# (An empty body is a valid request to open an account, or to capture all of a hold: every
# field has a default.)
VALID_EMPTY = {("open", "empty"), ("capture", "empty")}
UNPARSEABLE = [(e, r) for e in ENDPOINTS for r in RAW if (e, r) not in VALID_EMPTY]


@pytest.mark.parametrize(("endpoint", "raw"), UNPARSEABLE, ids=[f"{r}-{e}" for e, r in UNPARSEABLE])
def test_unparseable_bodies_are_400_and_change_nothing(send: Any, endpoint: str, raw: str) -> None:
    assert_error(send(endpoint, RAW[raw]), 400, "invalid")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_fields_are_400_and_change_nothing(
    send: Any, world: dict[str, Endpoint], endpoint: str
) -> None:

    body = {**world[endpoint].body, "is_staff": True}
    assert_error(send(endpoint, json.dumps(body).encode()), 400, "invalid")


BAD_AMOUNTS: list[Any] = [
    "-1.00", "0.00", "1.001", "1e3", "NaN", "Infinity", "", " 1.00", "\uff11.\uff10\uff10", "1,00",
    "99999999999999999999.00", 1.555, -3, True, None, [], {}, "'; DROP TABLE ledger_events; --",
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ["deposit", "withdraw", "transfer", "hold", "capture"])
@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_amounts_are_400_and_change_nothing(
    send: Any, world: dict[str, Endpoint], endpoint: str, amount: Any
) -> None:

    body = {**world[endpoint].body, "amount": amount}
    assert_error(send(endpoint, json.dumps(body).encode()), 400, "invalid")


# (A bare integer is a UUID to DRF, by its int value: it names no account, so that is a 404.)
BAD_IDS: list[Any] = ["'; DROP TABLE orders_events; --", "0", None, "../../etc/passwd", "ä", []]


@pytest.mark.parametrize("field", ["from_account", "to_account"])
@pytest.mark.parametrize("value", BAD_IDS, ids=repr)
def test_bad_ids_are_400_and_change_nothing(
    send: Any, world: dict[str, Endpoint], field: str, value: Any
) -> None:

    body = {**world["transfer"].body, field: value}
    assert_error(send("transfer", json.dumps(body).encode()), 400, "invalid")


BAD_ITEMS: list[Any] = [
    [],
    [{"sku": "MUG", "quantity": 0}],
    [{"sku": "MUG", "quantity": -1}],
    [{"sku": "MUG", "quantity": 10**12}],
    [{"sku": "MUG", "quantity": "one"}],
    [{"sku": "MUG"}],
    [{"sku": "'; DROP TABLE orders_events; --", "quantity": 1}],
    [{"sku": "MUG", "quantity": 1}, {"sku": "MUG", "quantity": 1}],
    "MUG",
    [[{"sku": "MUG", "quantity": 1}]],
]


@pytest.mark.parametrize("items", BAD_ITEMS, ids=repr)
def test_bad_order_items_are_400_and_change_nothing(
    send: Any, world: dict[str, Endpoint], items: Any
) -> None:

    body = {**world["order"].body, "items": items}
    assert_error(send("order", json.dumps(body).encode()), 400, "invalid")


def bad_batches(transfer: dict[str, Any]) -> dict[str, Any]:
    return {
        "no transfers": [],
        "1,001 transfers": [transfer] * 1001,
        "one reference twice": [{**transfer, "reference": "rent"}] * 2,
        "an object, not a list": transfer,
        "a list of lists": [[transfer]],
        "an item with an unknown field": [{**transfer, "is_staff": True}],
        "an item with a bad amount": [{**transfer, "amount": "-1"}],
        "an item without an amount": [{k: v for k, v in transfer.items() if k != "amount"}],
    }


@pytest.mark.parametrize("case", list(bad_batches(dict.fromkeys(["from_account", "to_account"]))))
def test_bad_batches_are_refused_whole_and_change_nothing(
    send: Any, world: dict[str, Endpoint], case: str
) -> None:
    (transfer,) = world["batch"].body["transfers"]
    body = {"transfers": bad_batches(transfer)[case]}
    refused = send("batch", json.dumps(body).encode())
    assert refused.status_code == 400, refused.json()
    assert set(refused.json()) == {"code", "message", "details"}


def test_another_customers_account_among_mine_is_404_for_the_batch_and_moves_nothing(
    send: Any, world: dict[str, Endpoint]
) -> None:
    (mine,) = world["batch"].body["transfers"]
    bobs = {"from_account": mine["to_account"], "to_account": mine["from_account"], "amount": "1"}
    body = {"transfers": [mine, mine, bobs, mine]}
    assert_error(send("batch", json.dumps(body).encode()), 404, "not_found")


def test_a_transfer_to_its_own_account_refuses_the_batch_as_it_refuses_a_transfer(
    send: Any, world: dict[str, Endpoint]
) -> None:
    (mine,) = world["batch"].body["transfers"]
    body = {"transfers": [mine, {**mine, "to_account": mine["from_account"]}]}
    assert_error(send("batch", json.dumps(body).encode()), 409, "same_account")


# --- Found by an outside test of the running system ----------------------------------------

RAW_AMOUNTS = {
    "a huge exponent": b"1E+999997",  # multiplied out, ~50 s of a web worker (twice)
    "a large exponent": b"1E+400000",
    "past Decimal's range": b"1e999999999",  # decimal.Overflow when multiplied
    "too many digits": b'"12345678901234567890123456789.001"',  # InvalidOperation (quantize)
    "a number of too many digits": b"12345678901234567890123456789.001",
    "a tiny exponent": b"1E-999999999",
}


@pytest.mark.timeout(20)  # before the fix the first of these held the request for ~50 s
@pytest.mark.parametrize("endpoint", ["deposit", "withdraw", "transfer"])
@pytest.mark.parametrize("amount", list(RAW_AMOUNTS))
def test_amounts_of_any_size_are_400_at_once(
    send: Any, world: dict[str, Endpoint], endpoint: str, amount: str
) -> None:
    body = json.dumps({**world[endpoint].body, "amount": "AMOUNT"}).encode()
    raw = body.replace(b'"AMOUNT"', RAW_AMOUNTS[amount])
    assert_error(send(endpoint, raw), 400, "invalid")


def test_a_key_given_twice_is_400_naming_it_and_moves_nothing(
    send: Any, world: dict[str, Endpoint], container: Container
) -> None:
    """Python keeps the last of two keys, other parsers the first: a body that means two things
    is refused, not guessed (here it would have moved the second account's money)."""
    body = world["transfer"].body
    raw = (
        f'{{"from_account": "{body["to_account"]}", "from_account": "{body["from_account"]}", '
        f'"to_account": "{body["to_account"]}", "amount": "1.00"}}'
    ).encode()
    refused = assert_error(send("transfer", raw), 400, "invalid")
    assert "from_account" in refused["details"]
    nested = json.dumps(world["order"].body).replace(
        '"quantity": 1', '"quantity": 1, "quantity": 2'
    )
    assert_error(send("order", nested.encode()), 400, "invalid")


WRONG_JSON_TYPES: list[tuple[str, str, Any]] = [
    ("product", "name", -1970),
    ("product", "stock", "3"),
    ("product", "stock", 3.0),
    ("product", "stock", True),
    ("stock", "quantity", "2"),
    ("freeze", "reason", 12),
    ("resolve", "decision", 1),
    ("transfer", "from_account", 5),
    ("transfer", "reference", 42),
    ("open", "currency", ["EUR"]),
    ("profile", "full_name", 7),
    ("profile", "email", ["alice@example.org"]),
    ("profile", "phone", 447700900218),
    ("profile", "address", {"street": "Marram Row"}),
]


@pytest.mark.parametrize(("endpoint", "field", "value"), WRONG_JSON_TYPES, ids=repr)
def test_a_value_of_another_json_type_than_the_schema_says_is_400(
    send: Any, world: dict[str, Endpoint], endpoint: str, field: str, value: Any
) -> None:
    """DRF would make -1970 a name and "3" a stock; the schema promises a string, an integer."""
    body = {**world[endpoint].body, field: value}
    assert (
        field in assert_error(send(endpoint, json.dumps(body).encode()), 400, "invalid")["details"]
    )


def test_text_keeps_its_spaces_and_refuses_nul(send: Any, world: dict[str, Endpoint]) -> None:
    """Trimmed, 200 spaces and a letter would pass a limit of 200; NUL is refused as DRF does,
    and as the schema now says."""
    body = {**world["product"].body, "name": " " * 200 + "x"}
    assert_error(send("product", json.dumps(body).encode()), 400, "invalid")
    body = {**world["product"].body, "name": "Te\u0000a"}
    assert_error(send("product", json.dumps(body).encode()), 400, "invalid")
    body = {**world["profile"].body, "full_name": " " * 200 + "x"}
    assert_error(send("profile", json.dumps(body).encode()), 400, "invalid")


# --- Personal data ---------------------------------------------------------------------------

BAD_PROFILES: dict[str, dict[str, Any]] = {
    "no name": {k: v for k, v in PROFILE.items() if k != "full_name"},
    "no email": {k: v for k, v in PROFILE.items() if k != "email"},
    "a blank name": {**PROFILE, "full_name": ""},
    "a name of 201 characters": {**PROFILE, "full_name": "x" * 201},
    "a NUL in the name": {**PROFILE, "full_name": "Otto\x00line"},
    "an email without a domain": {**PROFILE, "email": "ottoline@"},
    "an email of 255 characters": {**PROFILE, "email": f"{'o' * 243}@example.net"},
    "SQL for an email": {**PROFILE, "email": "'; DROP TABLE customers_events; --"},
    "a blank address": {**PROFILE, "address": ""},
    "an address of 501 characters": {**PROFILE, "address": "x" * 501},
    "a phone with letters": {**PROFILE, "phone": "+44 77OO 900218"},
    "a phone of five digits": {**PROFILE, "phone": "12345"},
    "a phone of another script's digits": {**PROFILE, "phone": "+44 \uff17\uff17 900218"},
    "a phone on two lines": {**PROFILE, "phone": "+44 7700\n900218"},
}


@pytest.mark.parametrize("case", list(BAD_PROFILES))
def test_bad_personal_data_is_400_changes_nothing_and_is_not_echoed(send: Any, case: str) -> None:
    refused = assert_error(send("profile", json.dumps(BAD_PROFILES[case]).encode()), 400, "invalid")
    sent = [v for v in BAD_PROFILES[case].values() if isinstance(v, str) and len(v) > 4]
    for value in {*PROFILE.values(), *sent}:  # an error names the field, never repeats a value
        assert value not in json.dumps(refused) and json.dumps(value) not in json.dumps(refused)


# --- GraphQL (/graphql) ------------------------------------------------------------------------

MOVE = "mutation($i: TransferFundsInput!) { transferFunds(input: $i) { position } }"


@pytest.fixture
def send_graphql(
    world: dict[str, Endpoint], container: Container, client_for: Any
) -> Callable[..., Any]:
    """POST raw bytes to /graphql as alice; assert no store moved."""
    from django.contrib.auth import get_user_model

    alice = client_for(get_user_model().objects.get(username="alice"))

    def post(raw: bytes, content_type: str = "application/json") -> Any:
        before = {c: app.max_position() for c, app in container.applications.items()}
        response = alice.generic("POST", "/graphql", raw, content_type)
        after = {c: app.max_position() for c, app in container.applications.items()}
        assert after == before, "a refused request changed the stores"
        return response

    return post


def document(query: str, **variables: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def graphql_codes(response: Any) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


GRAPHQL_RAW = {
    "malformed": b'{"query": "{ me { username } }"',
    "empty": b"",
    "a list (a batch)": b'[{"query": "{ me { username } }"}]',
    "null": b"null",
    "deep nesting": b'{"query": "{ me { username } }", "variables": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "huge": b'{"query": "{ me { username } }", "x": "' + b"9" * 600_000 + b'"}',
    "NaN literal": b'{"query": "{ me { username } }", "variables": {"x": NaN}}',
    "a key given twice": b'{"query": "{ me { username } }", "query": "{ alerts { totalCount } }"}',
    "not utf-8": b'{"query": "{ me { username \xff\xfe } }"}',
    "a query that is no string": b'{"query": {"me": "username"}}',
}


@pytest.mark.parametrize("raw", list(GRAPHQL_RAW))
def test_graphql_bodies_that_do_not_parse_are_400_invalid(send_graphql: Any, raw: str) -> None:
    response = send_graphql(GRAPHQL_RAW[raw])
    assert response.status_code == 400, response.content[:300]
    assert graphql_codes(response) == ["invalid"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_graphql_body_that_is_not_json_is_400(send_graphql: Any, content_type: str) -> None:
    response = send_graphql(b"query={ me { username } }", content_type)
    assert response.status_code == 400 and graphql_codes(response) == ["invalid"]


HOSTILE_DOCUMENTS = {
    "deeper than the limit": "{ me { " + "username { " * 9 + "}" * 9 + " } }",
    "an alias bomb": "{ " + " ".join(f"a{i}: me {{ username }}" for i in range(21)) + " }",
    "more tokens than the limit": "{ me { " + "username " * 2_000 + "} }",
    "a page over the REST page size": "{ orders(limit: 501) { totalCount } }",
    "an unknown field": "{ me { password } }",
    "a syntax error": "{ me { username }",
}


@pytest.mark.parametrize("name", list(HOSTILE_DOCUMENTS))
def test_hostile_documents_are_invalid_and_run_nothing(send_graphql: Any, name: str) -> None:
    response = send_graphql(document(HOSTILE_DOCUMENTS[name]))
    assert response.status_code == 200  # a GraphQL answer: the document was read, and refused
    answer = response.json()
    assert set(graphql_codes(response)) == {"invalid"}, answer
    assert not any((answer.get("data") or {}).values()), answer  # no field was answered


def test_the_limits_say_which_was_passed(send_graphql: Any) -> None:
    messages = {
        name: " ".join(e["message"] for e in send_graphql(document(query)).json()["errors"])
        for name, query in HOSTILE_DOCUMENTS.items()
        if name in ("deeper than the limit", "an alias bomb", "more tokens than the limit")
    }
    assert "depth" in messages["deeper than the limit"]
    assert "aliases" in messages["an alias bomb"]
    assert "tokens" in messages["more tokens than the limit"]


BAD_MOVES: list[Any] = [
    {"amount": 5},  # a number, where the schema says String
    {"amount": "NaN"},
    {"amount": "1E+999997"},
    {"amount": "\uff11.00"},
    {"toAccount": "'; DROP TABLE ledger_events; --"},
    {"isStaff": True},
    {"reference": "x" * 141},
    {"reference": "Te\u0000a"},
]


@pytest.mark.parametrize("change", BAD_MOVES, ids=repr)
def test_bad_mutation_inputs_are_invalid_and_move_nothing(
    send_graphql: Any, world: dict[str, Endpoint], change: dict[str, Any]
) -> None:
    body = world["transfer"].body
    move = {"fromAccount": body["from_account"], "toAccount": body["to_account"], "amount": "1"}
    response = send_graphql(document(MOVE, i={**move, **change}))
    assert graphql_codes(response) == ["invalid"], response.json()


def test_introspection_is_answered(send_graphql: Any) -> None:
    """The schema is public (``schema.graphql``), and GraphiQL reads it this way."""
    response = send_graphql(document("{ __schema { queryType { name } } }"))
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


# --- Live updates: a query is all a stream takes --------------------------------------------

HOSTILE_LIVE_QUERIES = {
    "unknown source": "source=ledger%27%20OR%201=1",
    "unknown type": "type=account.opened%00",
    "type too long": "type=" + "transfer." * 20,
    "a prefix of nothing": "type=x.",
    "unicode digits": "last_event_id=%D9%A3",
    "negative": "last_event_id=-5",
    "a fraction": "last_event_id=1.5",
    "past a bigint": "last_event_id=9223372036854775808",
    "an unknown parameter": "format=json",
}
HOSTILE_LAST_EVENT_IDS = ["", " ", "1 2", "0x10", "1e3", "-1", "²", "9" * 20]


@pytest.mark.parametrize(
    "query", list(HOSTILE_LIVE_QUERIES.values()), ids=list(HOSTILE_LIVE_QUERIES)
)
def test_a_live_stream_asked_for_with_a_hostile_query_is_400(
    make_user: Any, client_for: Any, query: str
) -> None:
    response = client_for(make_user("alice")).get(f"/api/live/?{query}")
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("header", HOSTILE_LAST_EVENT_IDS, ids=repr)
def test_a_live_stream_resumed_with_a_hostile_last_event_id_is_400(
    make_user: Any, client_for: Any, header: str
) -> None:
    response = client_for(make_user("alice")).get("/api/live/", HTTP_LAST_EVENT_ID=header)
    assert_error(response, 400, "invalid")
