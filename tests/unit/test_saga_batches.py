"""Sagas in lockstep: a commit per round for the whole batch, and every property of one saga
kept per saga (its steps once each, refusals, compensation, deadlines, idempotency, races)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from kernel.correlation import correlation_scope
from sagas.engine import (
    DEADLINE_EXCEEDED,
    LINKED_EVENT_FAILED,
    Effects,
    Saga,
    SagaDefinitionError,
    SagaRunner,
    SagaStatus,
    Step,
    deadline_from_now,
    unfinished_saga_ids,
)
from tests.unit.test_saga_engine import STEPS, Refused, Tally, Toy, ToyApp, build, marking


@pytest.fixture
def app() -> ToyApp:
    return ToyApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def tallied(app: ToyApp, count: int = 1) -> list[UUID]:
    tallies = [Tally(id=uuid4()) for _ in range(count)]
    app.save(*tallies)
    return [t.id for t in tallies]


def toys(tallies: list[UUID], refuse: dict[int, str] | None = None) -> list[Toy]:
    refuse = refuse or {}
    return [
        Toy(id=uuid4(), tally=t, refuse=refuse.get(i, ""), deadline=deadline_from_now(60))
        for i, t in enumerate(tallies)
    ]


def counting_saves(app: ToyApp) -> list[int]:
    """The number of objects in each ``save`` the app makes from now on."""
    saves: list[int] = []
    save = app.save

    def counted(*objs: Any, **kwargs: Any) -> Any:
        saves.append(len(objs))
        return save(*objs, **kwargs)

    app.save = counted  # type: ignore[method-assign]
    return saves


def test_a_batch_commits_once_a_round_and_each_saga_takes_each_step_once(app: ToyApp) -> None:
    tallies = tallied(app, 5)
    saves = counting_saves(app)
    done = SagaRunner(app, build(STEPS), app).start_batch(toys(tallies))
    assert [s.status for s in done] == [SagaStatus.COMPLETED] * 5
    assert len(saves) == 3  # three steps: three rounds, whatever the batch's size
    for tally in tallies:
        assert app.load(tally).marks == ["reserve", "charge", "confirm"]


def test_in_a_round_an_aggregate_is_one_object_the_steps_share(app: ToyApp) -> None:
    (tally,) = tallied(app)
    done = SagaRunner(app, build(STEPS), app).start_batch(toys([tally] * 3))
    assert [s.status for s in done] == [SagaStatus.COMPLETED] * 3
    assert app.load(tally).marks == ["reserve"] * 3 + ["charge"] * 3 + ["confirm"] * 3


def test_a_refused_saga_does_not_refuse_its_neighbours(app: ToyApp) -> None:
    tallies = tallied(app, 3)
    done = SagaRunner(app, build(STEPS), app).start_batch(toys(tallies, {1: "confirm"}))
    assert [s.status for s in done] == ["completed", "compensated", "completed"]
    assert app.load(tallies[1]).marks == ["reserve", "charge", "refund", "release"]
    assert app.load(tallies[0]).marks == ["reserve", "charge", "confirm"]


def test_a_linked_batch_is_all_or_nothing(app: ToyApp) -> None:
    tallies = tallied(app, 3)
    done = SagaRunner(app, build(STEPS), app).start_batch(
        toys(tallies, {2: "confirm"}), linked=True
    )
    assert [s.status for s in done] == [SagaStatus.COMPENSATED] * 3
    assert [s.failure_code for s in done] == [LINKED_EVENT_FAILED, LINKED_EVENT_FAILED, "refused"]
    assert {s.failed_step for s in done} == {"confirm"}
    for tally in tallies:  # nobody confirmed: every one undone in reverse order
        assert app.load(tally).marks == ["reserve", "charge", "refund", "release"]


def test_a_linked_batch_refused_at_its_first_step_fails_with_nothing_done(app: ToyApp) -> None:
    tallies = tallied(app, 2)
    done = SagaRunner(app, build(STEPS), app).start_batch(
        toys(tallies, {0: "reserve"}), linked=True
    )
    assert [(s.status, s.failure_code) for s in done] == [
        (SagaStatus.FAILED, "refused"),
        (SagaStatus.FAILED, LINKED_EVENT_FAILED),
    ]
    assert [app.load(t).marks for t in tallies] == [[], []]


def test_a_step_that_changes_what_it_read_and_then_refuses_is_a_bug_in_a_batch(
    app: ToyApp,
) -> None:
    def sloppy(app: ToyApp, saga: Toy) -> Effects:
        app.load(saga.tally).mark("half-done")
        raise Refused("too late to say no")

    (tally,) = tallied(app)
    with pytest.raises(SagaDefinitionError):
        SagaRunner(app, build((Step("sloppy", sloppy),)), app).start_batch(toys([tally]))
    assert app.load(tally).marks == []


def test_a_round_that_loses_to_a_writer_outside_the_batch_is_made_again(app: ToyApp) -> None:
    """Another writer moves a tally between the round's read and its commit: the round's save
    conflicts, nothing of it is stored, and the round runs again from fresh reads."""
    tallies = tallied(app, 2)
    interfered: list[str] = []

    def interfere() -> None:
        if not interfered:
            outside: Tally = app.repository.get(tallies[0])  # not through the batch's map
            outside.mark("outside")
            app.save(outside)
            interfered.append("once")

    steps = (Step("reserve", marking("reserve", interfere), compensation=marking("release")),)
    saves = counting_saves(app)
    done = SagaRunner(app, build(steps), app).start_batch(toys(tallies))
    assert [s.status for s in done] == [SagaStatus.COMPLETED] * 2
    assert app.load(tallies[0]).marks == ["outside", "reserve"]
    assert app.load(tallies[1]).marks == ["reserve"]
    assert len(saves) == 3  # the outside write, the lost round, the round again


def test_starting_a_batch_again_resumes_it_and_changes_nothing(app: ToyApp) -> None:
    tallies = tallied(app, 2)
    sagas = toys(tallies)
    runner = SagaRunner(app, build(STEPS), app)
    first = runner.start_batch(sagas)
    again = runner.start_batch(toys(tallies))  # other ids: other sagas
    retried = runner.start_batch(
        [Toy(id=s.id, tally=s.tally, refuse="", deadline=s.deadline) for s in first]
    )
    assert [s.version for s in retried] == [s.version for s in first]
    assert [s.status for s in again] == [SagaStatus.COMPLETED] * 2
    for tally in tallies:
        assert app.load(tally).marks == ["reserve", "charge", "confirm"] * 2


class Crash(Exception):
    pass


def crash_once_after(transition: str) -> Callable[[Saga, str], None]:
    armed = [True]

    def hook(saga: Saga, done: str) -> None:
        if done == transition and armed:
            armed.clear()
            raise Crash(done)

    return hook


@pytest.mark.parametrize("linked", [False, True])
@pytest.mark.parametrize(
    "transition", ["succeeded:reserve", "succeeded:charge", "failed:confirm", "compensated:charge"]
)
def test_a_batch_interrupted_after_any_round_is_finished_by_running_it_again(
    app: ToyApp, transition: str, linked: bool
) -> None:
    tallies = tallied(app, 3)
    definition = build(STEPS)
    sagas = toys(tallies, {1: "confirm"})
    with pytest.raises(Crash):
        SagaRunner(app, definition, app, after_commit=crash_once_after(transition)).start_batch(
            sagas, linked=linked
        )
    unfinished = unfinished_saga_ids(app, Toy)
    assert unfinished  # the crash came before the end of the batch
    done = SagaRunner(app, definition, app).run_batch([s.id for s in sagas], linked=linked)
    assert unfinished_saga_ids(app, Toy) == []
    expected = ["compensated"] * 3 if linked else ["completed", "compensated", "completed"]
    assert [s.status for s in done] == expected
    for tally, status in zip(tallies, expected, strict=True):
        marks = app.load(tally).marks
        if status == "completed":
            assert marks == ["reserve", "charge", "confirm"]
        else:
            assert marks == ["reserve", "charge", "refund", "release"]


def test_deadlines_hold_per_saga_in_a_batch(app: ToyApp) -> None:
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    tallies = tallied(app, 2)
    done = SagaRunner(app, build(STEPS), app, clock=late).start_batch(toys(tallies))
    assert [(s.status, s.failure_code) for s in done] == [
        (SagaStatus.FAILED, DEADLINE_EXCEEDED)
    ] * 2
    assert [app.load(t).marks for t in tallies] == [[], []]


def test_every_event_of_a_batch_carries_the_correlation_id_it_ran_in(app: ToyApp) -> None:
    tallies = tallied(app, 2)
    with correlation_scope("batch-request-1"):
        done = SagaRunner(app, build(STEPS), app).start_batch(toys(tallies))
    for saga in done:
        metas = [vars(e)["_meta"] for e in app.events.get(saga.id)]
        assert {m["correlation_id"] for m in metas} == {"batch-request-1"}
