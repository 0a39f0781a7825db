"""``tuning.transcoder``: what ``orjson`` writes is what the library's ``JSONTranscoder`` writes,
byte for byte, and each reads what the other wrote; what only the library can write or read
goes the library's way, with the library's answer or error. (Every kind of event the contexts
store is compared in ``tests/integration/tuning/test_transcoder.py``.)"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError
from hypothesis import given
from hypothesis import strategies as st

from ledger.application import LedgerApplication
from tests.unit.conftest import IN_MEMORY
from tuning.applications import tuned
from tuning.transcoder import OrjsonTranscoder

CASH = uuid4()  # the cash account's id: the other leg of a deposit or withdrawal


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    LARGE = 3


def transcoders() -> tuple[JSONTranscoder, OrjsonTranscoder]:
    """The library's transcoder and ours, with the transcodings the applications register."""
    app = LedgerApplication(env=IN_MEMORY)
    library, ours = JSONTranscoder(), OrjsonTranscoder()
    app.register_transcodings(library)
    app.register_transcodings(ours)
    return library, ours


LIBRARY, OURS = transcoders()

# Values an event's state is made of, nested as events nest them.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # past 64 bits too: those take the library's way
    st.text(),
    st.uuids(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.decimals(allow_nan=False, allow_infinity=False),
)
states = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), states, max_size=6))
def test_the_same_bytes_as_the_librarys_and_each_reads_the_other(state: dict[str, Any]) -> None:
    try:
        written = LIBRARY.encode(state)
    except UnicodeEncodeError:  # a lone surrogate: neither writes it
        with pytest.raises(UnicodeEncodeError):
            OURS.encode(state)
        return
    assert OURS.encode(state) == written
    assert OURS.decode(written) == LIBRARY.decode(written) == state


def test_an_event_state_is_written_alike() -> None:
    state = {
        "originator_id": uuid4(),
        "timestamp": datetime.now(UTC),
        "amount": 12_345,
        "kind": "transfer",
        "counterparty": None,
        "opened": date(2026, 12, 7),
        "rate": Decimal("1.25"),
        "ids": [uuid4(), uuid4()],
        "name": "Zoë ☃ \u2028",
        "_meta": {"correlation_id": str(uuid4()), "causation_id": None},
    }
    assert OURS.encode(state) == LIBRARY.encode(state)
    assert OURS.decode(OURS.encode(state)) == state


@pytest.mark.parametrize(
    "state",
    [
        {"big": 2**64},  # orjson writes ints of 64 bits at most
        {"big": -(2**63) - 1},
        {"ratio": 0.1},  # json and orjson may spell a float differently
        {1: "a key that is not a str"},
        {"colour": Colour.RED, "size": Size.LARGE},
        {"pair": (1, "two")},
    ],
)
def test_what_only_the_library_writes_goes_its_way(state: dict[Any, Any]) -> None:
    assert OURS.encode(state) == LIBRARY.encode(state)
    assert OURS.decode(LIBRARY.encode(state)) == LIBRARY.decode(LIBRARY.encode(state))


@pytest.mark.parametrize(
    "written",
    [
        b'{"big":123456789012345678901234567890}',  # orjson would read a float
        b'{"ratio":1e400}',  # orjson refuses an infinity; json reads one
        b'{"s":"\\ud800"}',  # a lone surrogate: orjson refuses it
    ],
)
def test_what_only_the_library_reads_is_read_its_way(written: bytes) -> None:
    assert OURS.decode(written) == LIBRARY.decode(written)


def test_a_type_with_no_transcoding_is_the_librarys_error() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        OURS.encode({"a set": {1, 2}})
    with pytest.raises(TranscodingNotRegisteredError):
        OURS.decode(b'{"x":{"_type_":"no_such","_data_":1}}')


def test_the_tuned_application_encodes_with_it() -> None:
    app = tuned(LedgerApplication, ["transcoder"])(env=IN_MEMORY)
    assert isinstance(app.mapper.transcoder, OrjsonTranscoder)
    account = app.open_account("alice", "EUR")
    account.deposit(500, "seed", CASH)
    app.save(account)
    assert app.get_account(account.id).balance == 500


def test_a_float_beside_a_container_is_read_the_librarys_way() -> None:
    written = b'{"big":123456789012345678901234567890,"ids":[{"_type_":"uuid_hex","_data_":"%s"}]}'
    written %= uuid4().hex.encode()
    assert OURS.decode(written) == LIBRARY.decode(written)
