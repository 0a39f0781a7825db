"""The PostgreSQL store's insert in one round trip (``tuning/recorder.py``) keeps every promise
of the library's: ids in commit order, conflicts refused whole, the connection left clean."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg.types.array import ListBinaryDumper, ListDumper

from config.container import Container
from config.stores import eventstore_env
from tests.conftest import fresh_stores
from tests.support import released_together
from tests.testapp.markers import Marker
from tuning.recorder import (
    Bigints,
    BinaryArray,
    Byteas,
    OneRoundTripRecorder,
    Texts,
    Uuids,
    reused_cursor,
)

TUNED = ["recorder"]  # this recorder is the tuning package's


class Log(Application[UUID]):
    """A bare application: its store is ``log_events`` in the test's schema."""


class SnapshottedLog(Log):
    """A store of two tables, ``log_events`` and ``log_snapshots``, as the ledger's is."""

    name = "Log"
    is_snapshotting_enabled = True


@pytest.fixture
def log_url(store_urls: dict[str, str]) -> str:
    url = store_urls["ledger"]
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL")
    return url


@contextmanager
def opened(url: str, connections: int) -> Iterator[Log]:
    app = Log(env=eventstore_env(f"{url}&pool_size={connections}&max_overflow=0", tuning=TUNED))
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def log(log_url: str) -> Iterator[Log]:
    """One pooled connection, so every call gets the one the call before gave back."""
    with opened(log_url, connections=1) as app:
        yield app


def stored_count(app: Log) -> int:
    return len(app.recorder.select_notifications(start=None, limit=10_000))


def test_every_context_writes_through_the_one_round_trip_recorder(
    container: Container, postgres_url: str | None
) -> None:
    if postgres_url is None:
        pytest.skip("needs PostgreSQL")
    for app in container.applications.values():
        assert type(app.recorder) is OneRoundTripRecorder


def test_a_save_returns_the_notification_ids_its_events_were_given(log: Log) -> None:
    first = log.save(Marker(id=uuid4()))
    both = log.save(Marker(id=uuid4()), Marker(id=uuid4()))
    ids = [r.notification.id for r in [*first, *both]]
    logged = log.recorder.select_notifications(start=None, limit=10)
    assert ids == [n.id for n in logged]
    assert [r.notification.originator_id for r in both] == [n.originator_id for n in logged[1:]]


def test_a_conflicting_insert_is_refused_whole_and_leaves_the_connection_idle(log: Log) -> None:
    marker = Marker(id=uuid4())
    log.save(marker)
    (already,) = log.recorder.select_events(marker.id)
    fresh = log.mapper.to_stored_event(Marker(id=uuid4()).collect_events()[0])

    with pytest.raises(IntegrityError):
        # A new event and one already stored, in one insert: neither may land.
        log.recorder.insert_events([fresh, already])

    assert stored_count(log) == 1
    assert isinstance(log.recorder, OneRoundTripRecorder)
    with log.recorder.datastore.get_connection() as conn:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    log.save(Marker(id=uuid4()))  # the same, only, connection writes again
    assert stored_count(log) == 2


def test_a_connection_keeps_one_cursor_for_every_insert_and_read(log: Log) -> None:
    marker = Marker(id=uuid4())
    log.save(marker)
    datastore = log.recorder.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn:
        kept = reused_cursor(conn)
    assert [e.originator_version for e in log.recorder.select_events(marker.id)] == [1]
    with datastore.get_connection() as conn:  # the pool's one connection, lent again
        assert reused_cursor(conn) is kept
        kept.close()
    log.save(Marker(id=uuid4()))  # a closed cursor is replaced, not used
    assert stored_count(log) == 2
    with datastore.get_connection() as conn:
        assert reused_cursor(conn) is not kept and not reused_cursor(conn).closed


@pytest.mark.parametrize(
    ("array", "values"),
    [
        (Uuids, [uuid4(), UUID(int=0), str(UUID(int=2**128 - 1))]),
        (Bigints, [0, 1, -1, 2**63 - 1, -(2**63)]),
        (Texts, ["ledger.domain:Account.Debited", "", 'é ✓ \\ , { } "', "x" * 10_000]),
        (Byteas, [b"", b"\x00\xff", b'{"amount": 1}' * 1_000]),
        (Texts, []),
    ],
)
def test_binary_arrays_arrive_as_the_values_they_were(
    log: Log, array: type[BinaryArray], values: list[object]
) -> None:
    datastore = log.recorder.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn:
        cursor = reused_cursor(conn)
        cursor.execute(f"SELECT %b::{array.element}[] AS got", [array(values)])
        row = cursor.fetchone()
    assert row is not None
    got = [bytes(v) if isinstance(v, memoryview) else v for v in row["got"]]
    assert got == [UUID(v) if isinstance(v, str) and array is Uuids else v for v in values]


def test_an_insert_sends_its_arrays_without_psycopgs_list_dumper(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> object:
        raise AssertionError("psycopg's list dumper was asked")

    monkeypatch.setattr(ListBinaryDumper, "dump", refused)
    monkeypatch.setattr(ListDumper, "dump", refused)
    log.save(Marker(id=uuid4()), Marker(id=uuid4()))
    assert stored_count(log) == 2


def test_a_reader_tailing_the_log_misses_nothing_while_eight_threads_write(log_url: str) -> None:
    """Ids are handed out at insert and become visible at commit; were the two orders ever to
    differ, a reader that only moves forward would step over the id that committed late."""
    writers, saves_each = 8, 60
    with opened(log_url, connections=writers + 1) as log:
        done = threading.Event()
        seen: list[int] = []

        def tail() -> None:
            last = 0
            while True:
                finished = done.is_set()  # read before the page: the last page sees every commit
                page = log.recorder.select_notifications(last, 100, inclusive_of_start=False)
                seen.extend(n.id for n in page)
                last = seen[-1] if seen else last
                if finished and not page:
                    return

        def write() -> None:
            for _ in range(saves_each):
                log.save(Marker(id=uuid4()), Marker(id=uuid4()))

        threads = [threading.Thread(target=write) for _ in range(writers)]
        reader = threading.Thread(target=tail)
        reader.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        reader.join()

        stored = [n.id for n in log.recorder.select_notifications(start=None, limit=10_000)]
        assert len(stored) == writers * saves_each * 2
        assert seen == stored


@pytest.mark.parametrize("gt", [None, 2])
@pytest.mark.parametrize("lte", [None, 5])
@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("limit", [None, 2])
def test_a_read_of_one_aggregates_events_answers_as_the_librarys(
    log: Log, gt: int | None, lte: int | None, desc: bool, limit: int | None
) -> None:
    """Every shape of read (the recorder keeps one text for each) picks the versions asked
    for, of that aggregate only, in the order asked for."""
    mine, other = uuid4(), uuid4()
    for originator in (mine, other):
        log.recorder.insert_events(
            [StoredEvent(originator, v, "a:Topic", f"{v}".encode()) for v in range(1, 7)]
        )

    read = log.recorder.select_events(mine, gt=gt, lte=lte, desc=desc, limit=limit)

    versions = [v for v in range(1, 7) if v > (gt or 0) and v <= (lte or 6)]
    expected = (versions[::-1] if desc else versions)[:limit]
    assert [(e.originator_id, e.originator_version) for e in read] == [(mine, v) for v in expected]
    assert [(e.topic, e.state) for e in read] == [("a:Topic", f"{v}".encode()) for v in expected]


def test_processes_starting_together_on_a_fresh_store_all_come_up(
    tmp_path: Path, stores_database: str | None
) -> None:
    """The compose file starts the web workers, the relay and the projectors at once, and on a
    fresh database each creates the store's tables — its events and its snapshots: none of them
    may lose that race. Six starters at a barrier, on ten fresh schemas."""
    if stores_database is None:
        pytest.skip("needs PostgreSQL")
    for attempt in range(10):  # the library's recorder, then the tuned one, in turn
        with fresh_stores(tmp_path, stores_database) as urls:
            tuning = TUNED if attempt % 2 else []
            env = eventstore_env(f"{urls['ledger']}&pool_size=1", tuning=tuning)
            assert starting_together(env, 6) == []
            with psycopg.connect(stores_database) as conn:
                tables = conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (env["POSTGRES_SCHEMA"],),
                ).fetchall()
            assert sorted(tables) == [("log_events",), ("log_snapshots",)]


def starting_together(env: dict[str, str], starters: int) -> list[BaseException]:
    """What each of ``starters`` threads, released at once, raised building a ``SnapshottedLog``."""
    _, failures = released_together(starters, lambda _: SnapshottedLog(env=env).close())
    return failures
