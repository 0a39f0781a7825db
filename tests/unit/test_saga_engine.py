"""The saga engine on a toy saga: ordering, races settled by versions, deadlines, remote steps."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from kernel.application import EventSourcedApplication
from kernel.events import EventCatalogue
from sagas.engine import (
    DEADLINE_EXCEEDED,
    Effects,
    Saga,
    SagaDefinition,
    SagaRunner,
    SagaStatus,
    Step,
    deadline_from_now,
    unfinished_saga_ids,
)


class Refused(Exception):
    code = "refused"


class Tally(Aggregate):
    """Records which steps touched it, so a test can count effects exactly."""

    @event("Created")
    def __init__(self, id: UUID) -> None:
        self.marks: list[str] = []

    @event("Marked")
    def mark(self, mark: str) -> None:
        self.marks.append(mark)


class Toy(Saga):
    class Started(Saga.Started):
        tally: UUID
        refuse: str

    def __init__(self, id: UUID, tally: UUID, refuse: str, deadline: datetime) -> None:
        super().__init__(deadline)
        self.tally = tally
        self.refuse = refuse


class ToyApp(EventSourcedApplication):
    name = "toy"
    catalogue = EventCatalogue("toy", {})


def marking(name: str, hook: Callable[[], None] | None = None) -> Callable[[ToyApp, Toy], Effects]:
    def action(app: ToyApp, saga: Toy) -> Effects:
        if saga.refuse == name:
            raise Refused(f"{name} refused")
        tally: Tally = app.load(saga.tally)
        tally.mark(name)
        if hook is not None:
            hook()
        return [tally]

    return action


def build(steps: tuple[Step, ...]) -> type[SagaDefinition]:
    class ToySaga(SagaDefinition[ToyApp, Toy]):
        saga_class = Toy
        business_errors = (Refused,)

    ToySaga.steps = steps
    return ToySaga


STEPS = (
    Step("reserve", marking("reserve"), compensation=marking("release")),
    Step("charge", marking("charge"), compensation=marking("refund"), remote=True),
    Step("confirm", marking("confirm"), pivot=True),
)


@pytest.fixture
def app() -> ToyApp:
    return ToyApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def start(
    app: ToyApp, definition: type[SagaDefinition], refuse: str = "", **runner_kwargs
) -> tuple[Toy, Tally]:
    tally = Tally(id=uuid4())
    app.save(tally)
    saga = Toy(id=uuid4(), tally=tally.id, refuse=refuse, deadline=deadline_from_now(60))
    finished = SagaRunner(app, definition, app, **runner_kwargs).start(saga)
    return finished, app.repository.get(tally.id)


def test_steps_run_in_order_and_the_saga_completes(app: ToyApp) -> None:
    saga, tally = start(app, build(STEPS))
    assert saga.status == SagaStatus.COMPLETED
    assert tally.marks == ["reserve", "charge", "confirm"]


def test_a_refusal_compensates_what_succeeded_in_reverse_order(app: ToyApp) -> None:
    saga, tally = start(
        app, build((*STEPS[:2], Step("extra", marking("extra")), STEPS[2])), refuse="extra"
    )
    assert (saga.status, saga.failed_step, saga.failure_code) == (
        SagaStatus.COMPENSATED,
        "extra",
        "refused",
    )
    assert tally.marks == ["reserve", "charge", "refund", "release"]


def test_a_refusal_of_the_first_step_fails_with_nothing_to_undo(app: ToyApp) -> None:
    saga, tally = start(app, build(STEPS), refuse="reserve")
    assert saga.status == SagaStatus.FAILED
    assert tally.marks == []


def test_a_remote_step_failed_by_its_deadline_is_compensated_too(app: ToyApp) -> None:
    """Its effects live in another store and may exist: its compensation must run as well."""
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    crash = {"armed": True}

    def crash_after_reserve(saga: Saga, transition: str) -> None:
        if transition == "succeeded:reserve" and crash.pop("armed", False):
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        start(app, build(STEPS), after_commit=crash_after_reserve)
    (saga_id,) = unfinished_saga_ids(app, Toy)
    saga = SagaRunner(app, build(STEPS), app, clock=late).run(saga_id)
    tally: Tally = app.repository.get(saga.tally)
    assert (saga.status, saga.failure_code) == (SagaStatus.COMPENSATED, DEADLINE_EXCEEDED)
    assert tally.marks == ["reserve", "refund", "release"]


def test_a_local_step_failed_by_its_deadline_is_not_compensated(app: ToyApp) -> None:
    """Its effects commit only with the saga's record of success, so there is nothing to undo."""
    late = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    saga, tally = start(app, build(STEPS), clock=late)
    assert (saga.status, saga.failed_step) == (SagaStatus.FAILED, "reserve")
    assert tally.marks == []


def test_two_runners_racing_on_one_saga_apply_each_step_once(app: ToyApp) -> None:
    """Runner A is overtaken mid-step by runner B; A's save conflicts, A reloads, and stops."""
    definition = build(STEPS)
    saga_ids: list[UUID] = []

    def overtake() -> None:
        if not saga_ids:
            return
        saga_id = saga_ids.pop()
        SagaRunner(app, definition, app).run(saga_id)  # B runs the saga to its end

    racing = build(
        (Step("reserve", marking("reserve", overtake), compensation=marking("release")), *STEPS[1:])
    )
    tally = Tally(id=uuid4())
    app.save(tally)
    saga = Toy(id=uuid4(), tally=tally.id, refuse="", deadline=deadline_from_now(60))
    app.save(saga)
    saga_ids.append(saga.id)
    finished = SagaRunner(app, racing, app).run(saga.id)  # A
    assert finished.status == SagaStatus.COMPLETED
    assert app.repository.get(tally.id).marks == ["reserve", "charge", "confirm"]


def test_unfinished_saga_ids_lists_only_sagas_that_have_not_ended(app: ToyApp) -> None:
    done, _ = start(app, build(STEPS))

    def crash(saga: Saga, transition: str) -> None:
        raise RuntimeError(transition)

    with pytest.raises(RuntimeError):
        start(app, build(STEPS), after_commit=crash)
    unfinished = unfinished_saga_ids(app, Toy)
    assert len(unfinished) == 1 and done.id not in unfinished


def test_a_copy_of_a_saga_is_whole_and_independent_of_the_original() -> None:
    """The runner advances a copy of a new saga on each attempt to start it: a lost attempt
    must leave the original as it was, its one pending event included."""
    original = Toy(id=uuid4(), tally=uuid4(), refuse="", deadline=deadline_from_now(60))

    twin = copy.deepcopy(original)
    assert vars(twin) == vars(original)
    twin.step_succeeded("reserve")
    twin.step_failed("charge", "refused", "no")
    twin.step_compensated("reserve")

    assert (original.status, original.succeeded, original.compensated) == ("running", [], [])
    assert original.history == [] and original.failed_step is None
    assert [type(e).__name__ for e in original.collect_events()] == ["Started"]
    assert len(twin.collect_events()) == 4  # the original's start, and the twin's three
