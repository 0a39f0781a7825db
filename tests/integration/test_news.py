"""How the relay learns that a log has grown: PostgreSQL's notifications, or polling on SQLite.

A relay told of every commit publishes at once and asks the store nothing while it is idle;
these tests hold that the notification comes (well before the relay would read untold), that a
quiet store still gets read, and that a broken notification connection is an error the relay
rides out, never a silent stall.
"""

from __future__ import annotations

import asyncio
import threading
import time
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from config.container import Container
from messaging.news import Listening, Polling, news_of
from tests.testapp.markers import Marker

UNTOLD = 30.0  # how long a wait would last without news: far longer than any test waits


def is_postgres(container: Container) -> bool:
    return isinstance(container.orders.recorder, PostgresApplicationRecorder)


async def wait_timed(news: object, stop: asyncio.Event) -> float:
    started = time.monotonic()
    await news.wait(stop)  # type: ignore[attr-defined]
    return time.monotonic() - started


def test_a_commit_wakes_a_listening_relay_at_once(container: Container) -> None:
    if not is_postgres(container):
        pytest.skip("SQLite sends no notifications (the relay polls it)")

    async def main() -> float:
        async with news_of(container.orders, poll_interval=UNTOLD, at_most=UNTOLD) as news:
            assert isinstance(news, Listening)
            writer = threading.Timer(0.3, lambda: container.orders.save(Marker(id=uuid4())))
            writer.start()
            try:
                return await wait_timed(news, asyncio.Event())
            finally:
                writer.join()

    waited = asyncio.run(main())
    assert 0.25 < waited < 10, f"woke after {waited:.2f} s, not at the commit"


def test_commits_while_the_relay_reads_wake_it_once_for_all_of_them(container: Container) -> None:
    if not is_postgres(container):
        pytest.skip("SQLite sends no notifications (the relay polls it)")

    async def main() -> tuple[float, float]:
        async with news_of(container.orders, poll_interval=UNTOLD, at_most=0.5) as news:
            for _ in range(5):  # commits while no one waits: the next wait returns at once
                await asyncio.to_thread(container.orders.save, Marker(id=uuid4()))
            await asyncio.sleep(0.2)  # their notifications arrive
            first = await wait_timed(news, asyncio.Event())
            second = await wait_timed(news, asyncio.Event())  # nothing new: the quiet read
            return first, second

    first, second = asyncio.run(main())
    assert first < 0.2
    assert 0.4 < second < 5


def test_a_quiet_store_is_still_read_and_stop_ends_a_wait(container: Container) -> None:
    async def main() -> tuple[float, float]:
        async with news_of(container.orders, poll_interval=0.3, at_most=0.3) as news:
            quiet = await wait_timed(news, asyncio.Event())
        async with news_of(container.orders, poll_interval=UNTOLD, at_most=UNTOLD) as news:
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(0.2, stop.set)
            stopped = await wait_timed(news, stop)
        return quiet, stopped

    quiet, stopped = asyncio.run(main())
    assert 0.25 < quiet < 5
    assert stopped < 5


def test_sqlite_is_polled(container: Container) -> None:
    if is_postgres(container):
        pytest.skip("PostgreSQL notifies")

    async def main() -> object:
        async with news_of(container.orders, poll_interval=0.1, at_most=UNTOLD) as news:
            return news

    assert isinstance(asyncio.run(main()), Polling)


def test_a_broken_notification_connection_is_an_error_not_a_stall(container: Container) -> None:
    if not is_postgres(container):
        pytest.skip("SQLite sends no notifications (the relay polls it)")

    async def main() -> None:
        async with news_of(container.orders, poll_interval=UNTOLD, at_most=UNTOLD) as news:
            assert isinstance(news, Listening)
            pid = news.connection.info.backend_pid
            recorder = container.orders.recorder
            assert isinstance(recorder, PostgresApplicationRecorder)
            settings = recorder.datastore.pool.kwargs
            assert isinstance(settings, dict)
            killer = {k: v for k, v in settings.items() if k != "row_factory"}
            with psycopg.connect(**killer, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(psycopg.OperationalError):
                await asyncio.wait_for(news.wait(asyncio.Event()), timeout=10)

    asyncio.run(main())
