"""The subscriber runtime: every event's effect applied exactly once — across kills at random
points — poison and foreign messages parked in dead letters, and replays from a point."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import uuid4

import django.db
import eventsourcing.persistence
import pytest

from messaging.connection import connect, jetstream_session
from messaging.dead_letters import retry, unresolved
from messaging.handlers import handler
from messaging.models import DeadLetter, SubscriberPosition
from messaging.runtime import run_subscribers
from messaging.stream import ensure_stream, stream_settings
from messaging.subscriber import Delivery, Subscriber
from tests.integration.conftest import Bus, Commands
from tests.support import wait_for
from tests.testapp.handlers import EffectRecorder
from tests.testapp.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)
NAME = EffectRecorder.name


def envelope(n: int, **data: object) -> dict[str, object]:
    return {
        "id": str(uuid4()),
        "type": "thing.happened",
        "source": "test",
        "aggregate_id": str(uuid4()),
        "aggregate_version": 1,
        "position": n,
        "timestamp": datetime.now(UTC).isoformat(),
        "correlation_id": str(uuid4()),
        "causation_id": None,
        "data": {"n": n, **data},
    }


def publish(bus: Bus, payloads: list[bytes], subject: str = "thing.happened") -> None:
    async def go() -> None:
        client = await connect(bus.url, name="test-publisher", daemon=False)
        js = client.jetstream()
        await ensure_stream(js, stream_settings())
        for start in range(0, len(payloads), 256):
            await asyncio.gather(
                *(js.publish(f"{bus.prefix}.{subject}", p) for p in payloads[start : start + 256])
            )
        await client.close()

    asyncio.run(go())


def publish_events(bus: Bus, count: int, **data: object) -> list[dict[str, object]]:
    events = [envelope(n, **data) for n in range(count)]
    publish(bus, [json.dumps(e).encode() for e in events])
    return events


def consume_once(bus: Bus, **kwargs: Any) -> None:
    asyncio.run(run_subscribers([NAME], bus.url, once=True, **kwargs))


def test_every_event_is_applied_once_in_batches(bus: Bus) -> None:
    events = publish_events(bus, 1200)
    consume_once(bus)
    assert list(Effect.objects.order_by("sequence").values_list("event_id", flat=True)) == [
        e["id"] for e in events
    ]
    assert SubscriberPosition.objects.get(name=NAME).stream_sequence == 1200
    consume_once(bus)  # nothing new: nothing applied again
    assert Effect.objects.count() == 1200


def test_a_subscriber_killed_at_random_points_ten_times_applies_each_event_once(
    bus: Bus, commands: Commands, tmp_path
) -> None:
    rng = random.Random(1124)
    events = publish_events(bus, 20_000)
    applied_at_each_kill: list[int] = []
    while len(applied_at_each_kill) < 10 and Effect.objects.count() < len(events):
        before = Effect.objects.count()
        subscriber = commands.start("run_subscriber", NAME, log=tmp_path / "subscriber.log")
        # Kill at a random point of its run, counted in events applied rather than in time:
        # start-up time and speed vary with the machine's load, a count does not (a timed kill
        # on a fast run found the stream already applied).
        target = before + rng.randint(0, 1500)
        wait_for(
            partial(more_effects_than, target), timeout=60, interval=0.005,
            what="the subscriber to apply events",
        )  # fmt: skip
        time.sleep(rng.uniform(0.0, 0.02))
        subscriber.send_signal(signal.SIGKILL)
        subscriber.wait()
        applied_at_each_kill.append(Effect.objects.count())
    mid_stream = [n for n in applied_at_each_kill if n < len(events)]
    assert len(mid_stream) >= 3, f"too few kills landed mid-stream: {applied_at_each_kill}"
    commands.run("run_subscriber", NAME, "--once")
    applied = list(Effect.objects.values_list("event_id", flat=True))
    assert len(applied) == len(set(applied)) == len(events), "an effect was doubled or lost"


def test_a_batch_fetched_ahead_is_applied_by_the_next_run_when_stopped_before_it(
    bus: Bus,
) -> None:
    """The next batch is fetched while one is applied; stopped in between, that batch is
    dropped unapplied and the next run, starting from the stored position, applies it once."""
    events = publish_events(bus, 1200)

    async def first_batch_only() -> Any:
        loop, stop = asyncio.get_running_loop(), asyncio.Event()

        class StopAfterOneBatch(EffectRecorder):
            def apply(self, deliveries: Sequence[Delivery]) -> None:
                super().apply(deliveries)
                loop.call_soon_threadsafe(stop.set)

        class CountingFetches(Subscriber):
            fetches = 0

            async def _fetch(self) -> list[Any]:
                self.fetches += 1
                return await super()._fetch()

        async with jetstream_session(bus.url, name="test-ahead") as (js, stream):
            subscriber = CountingFetches(StopAfterOneBatch(), js, stream)
            await subscriber.run(stop)
            return subscriber

    subscriber = asyncio.run(first_batch_only())
    assert subscriber.fetches == 2  # the batch applied, and the one fetched ahead of it
    assert (subscriber.stats.batches, Effect.objects.count()) == (1, 500)
    assert SubscriberPosition.objects.get(name=NAME).stream_sequence == 500
    consume_once(bus)
    applied = list(Effect.objects.order_by("sequence").values_list("event_id", flat=True))
    assert applied == [e["id"] for e in events]


def run_once(subscriber_for: Callable[[Any, Any], Subscriber], bus: Bus) -> Subscriber:
    """``subscriber_for(js, stream)`` run until nothing is left (failing after a minute)."""

    async def go() -> Subscriber:
        async with jetstream_session(bus.url, name="test-subscriber") as (js, stream):
            subscriber = subscriber_for(js, stream)
            await asyncio.wait_for(subscriber.run(asyncio.Event(), once=True), 60)
            return subscriber

    return asyncio.run(go())


def test_a_message_lost_on_the_way_is_fetched_again_not_skipped(bus: Bus) -> None:
    """An ack-free consumer sends each message once. One lost on the way (a dropped connection
    the consumer outlived) is never sent again: the subscriber notices the gap in the
    consumer's count, and starts again from its stored position rather than apply past it."""
    events = publish_events(bus, 1200)

    class LosingOneMessage(Subscriber):
        fetches = 0

        async def _fetch(self) -> list[Any]:
            messages = await super()._fetch()
            self.fetches += 1
            return messages[1:] if self.fetches == 2 else messages

    subscriber = run_once(lambda js, stream: LosingOneMessage(EffectRecorder(), js, stream), bus)
    applied = list(Effect.objects.order_by("sequence").values_list("event_id", flat=True))
    assert applied == [e["id"] for e in events]
    assert subscriber.stats.resubscribes == 2


@pytest.mark.parametrize(
    "away",
    [
        django.db.OperationalError("server closed the connection unexpectedly"),
        eventsourcing.persistence.OperationalError("couldn't get a connection after 5.00 sec"),
    ],
)
def test_a_database_away_parks_nothing_and_the_batch_is_applied_when_it_is_back(
    bus: Bus, away: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that cannot reach its database has not refused the message: nothing is
    parked (as a poison message would be after three attempts); the subscriber waits, and
    applies the batch once the database answers."""
    events = publish_events(bus, 5)

    class DatabaseAwayForAWhile(EffectRecorder):
        failures = 0

        def apply(self, deliveries: Sequence[Delivery]) -> None:
            if self.failures < 4:
                self.failures += 1
                raise away
            super().apply(deliveries)

    with caplog.at_level(logging.INFO, logger="messaging.subscriber"):
        run_once(lambda js, stream: Subscriber(DatabaseAwayForAWhile(), js, stream), bus)
    applied = list(Effect.objects.order_by("sequence").values_list("event_id", flat=True))
    assert applied == [e["id"] for e in events]
    assert not DeadLetter.objects.exists()
    said = [r.getMessage() for r in caplog.records if r.name == "messaging.subscriber"]
    assert len(said) == 1 and "OperationalError" in said[0], said


def more_effects_than(count: int) -> bool:
    return Effect.objects.count() > count


class InThread:
    """``run_subscribers`` on a loop of its own, in a thread, until ``stop``; what it raised."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(run_subscribers([NAME], self.bus.url, stop=self.stop))
        except BaseException as error:  # what the subscriber died of is the test's to judge
            self.error = error
        finally:
            self.loop.close()

    def __enter__(self) -> InThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


def test_a_subscriber_rides_out_a_nats_restart_in_process(
    private_bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    """The server forgets the subscriber's ephemeral consumer when it restarts: the subscriber
    makes a new one from its stored position, says so once, and goes on, never exiting."""
    before = publish_events(private_bus, 300)
    with caplog.at_level(logging.INFO, logger="messaging.subscriber"), InThread(private_bus) as run:
        wait_for(lambda: Effect.objects.count() == 300, timeout=30, what="the first events")
        private_bus.server.kill()
        private_bus.server.start()
        after = publish_events(private_bus, 300)
        wait_for(
            lambda: Effect.objects.count() == 600 or not run.thread.is_alive(),
            timeout=60,
            what="the events published after the restart",
        )
    assert run.error is None, f"the subscriber died: {run.error!r}"
    applied = list(Effect.objects.order_by("sequence").values_list("event_id", flat=True))
    assert applied == [e["id"] for e in [*before, *after]]
    said = [r.getMessage() for r in caplog.records if r.name == "messaging.subscriber"]
    assert len(said) == 1 and "subscribing again" in said[0], said


def test_a_poison_message_is_parked_and_the_subscriber_goes_on(bus: Bus) -> None:
    publish_events(bus, 5)
    (poison,) = publish_events(bus, 1, poison=True)
    publish_events(bus, 5)
    consume_once(bus)
    assert Effect.objects.count() == 10
    letter = DeadLetter.objects.get()
    assert (letter.subscriber, letter.stream_sequence, letter.attempts) == (NAME, 6, 3)
    assert json.loads(letter.payload)["id"] == poison["id"] and "Poison" in letter.error
    assert SubscriberPosition.objects.get(name=NAME).stream_sequence == 11


def test_a_malformed_or_foreign_message_is_parked_not_fatal(bus: Bus) -> None:
    publish(bus, [b"not json at all", b'{"no": "envelope"}'], subject="foreign.thing")
    publish_events(bus, 3)
    consume_once(bus)
    assert Effect.objects.count() == 3
    assert sorted(DeadLetter.objects.values_list("stream_sequence", "attempts")) == [(1, 1), (2, 1)]


def test_retrying_a_dead_letter_applies_it_once_its_cause_is_fixed(
    bus: Bus, monkeypatch, commands: Commands
) -> None:
    publish_events(bus, 1, poison=True)
    consume_once(bus)
    assert [o.resolved for o in retry(unresolved())] == [False]  # still poison
    assert DeadLetter.objects.get().attempts == 4

    def cured(self: EffectRecorder, deliveries: list) -> None:
        (d,) = deliveries
        Effect.objects.create(
            subscriber=NAME, event_id=d.event["id"], sequence=d.sequence, type=d.type
        )

    monkeypatch.setattr(EffectRecorder, "apply", cured)
    assert [o.resolved for o in retry(unresolved())] == [True]
    assert Effect.objects.count() == 1 and not list(unresolved())


def test_retry_dead_letters_command_reports_what_still_fails(bus: Bus, commands: Commands) -> None:
    publish(bus, [b"garbage"], subject="foreign.thing")
    consume_once(bus)
    run = commands.run("retry_dead_letters", "--id", str(DeadLetter.objects.get().pk), check=False)
    assert run.returncode != 0 and "still failing" in run.stdout
    assert DeadLetter.objects.get().attempts == 2


def test_replay_from_a_sequence_or_a_time(bus: Bus) -> None:
    publish_events(bus, 10)
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    publish_events(bus, 10)
    consume_once(bus)
    assert Effect.objects.count() == 20

    Effect.objects.all().delete()  # what a rebuild does before it replays
    consume_once(bus, from_sequence=15)
    assert sorted(Effect.objects.values_list("sequence", flat=True)) == list(range(15, 21))

    Effect.objects.all().delete()
    consume_once(bus, since=middle)
    assert sorted(Effect.objects.values_list("sequence", flat=True)) == list(range(11, 21))


def test_an_unknown_subscriber_name_lists_the_known_ones() -> None:
    with pytest.raises(LookupError, match="test:effects"):
        handler("nope")
