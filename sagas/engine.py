"""A saga engine small enough to read in one sitting.

A saga is a list of steps, each beside its compensation. Its state is an event-sourced
aggregate, so a saga interrupted anywhere can be resumed by whoever loads it next: the web
request that started it, or the recovery command. The runner makes one transition at a time
and saves it *together with* the aggregates the step changed, in one transaction, when they
share a store; two runners racing on one saga are settled by the aggregate's version (the
loser reloads and carries on from what the winner recorded). A saga's start commits with its
first (local) step, and its end with its last step or compensation: nothing happens between
them that a crash could split, and each commit is a round of the event store's write lock.

Vocabulary (after Garcia-Molina & Salem, and Eventuate):
- a *compensatable* step has a compensation that semantically undoes it;
- the *pivot* step is the last one that may fail; once it succeeds the saga only goes forward;
- a *remote* step commits in another store, so a step failed by its deadline may still have
  had effects there: its own compensation runs too, and must be safe when nothing happened.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, BaseAggregate
from eventsourcing.persistence import RecordConflictError
from eventsourcing.utils import get_topic

from kernel.application import EventSourcedApplication, identity_map
from kernel.correlation import correlation_scope, current
from kernel.events import META_FIELD


class SagaStatus(StrEnum):
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    FAILED = "failed"  # a step said no before anything needed undoing


TERMINAL = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED})
DEADLINE_EXCEEDED = "deadline_exceeded"
LINKED_EVENT_FAILED = "linked_event_failed"  # TigerBeetle's name, for a linked batch's others


class Saga(Aggregate):
    """The recorded progress of one saga. Concrete sagas subclass it and add their inputs.

    Its state is values and lists of them, and nothing in a list (a step's name, an entry of
    ``history``) changes once it is there: a copy of the lists is a copy of the saga."""

    class Started(Aggregate.Created):
        deadline: datetime

    class StepSucceeded(Aggregate.Event):
        step: str

        def apply(self, saga: Saga) -> None:
            saga.succeeded.append(self.step)
            saga.history.append({"name": self.step, "status": "succeeded", "at": self.timestamp})

    class StepFailed(Aggregate.Event):
        step: str
        code: str
        reason: str
        undo_step: bool

        def apply(self, saga: Saga) -> None:
            saga.status = SagaStatus.COMPENSATING
            saga.failed_step, saga.failure_code, saga.failure_reason = (
                self.step,
                self.code,
                self.reason,
            )
            saga.undo_failed_step = self.undo_step
            saga.history.append({"name": self.step, "status": "failed", "at": self.timestamp})

    class StepCompensated(Aggregate.Event):
        step: str

        def apply(self, saga: Saga) -> None:
            saga.compensated.append(self.step)
            saga.history.append({"name": self.step, "status": "compensated", "at": self.timestamp})

    class Completed(Aggregate.Event):
        def apply(self, saga: Saga) -> None:
            saga.status = SagaStatus.COMPLETED

    class Compensated(Aggregate.Event):
        def apply(self, saga: Saga) -> None:
            saga.status = SagaStatus.COMPENSATED

    class Failed(Aggregate.Event):
        def apply(self, saga: Saga) -> None:
            saga.status = SagaStatus.FAILED

    def __init__(self, deadline: datetime) -> None:
        self.deadline = deadline
        self.status = SagaStatus.RUNNING
        self.succeeded: list[str] = []
        self.compensated: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.failed_step: str | None = None
        self.failure_code: str | None = None
        self.failure_reason: str | None = None
        self.undo_failed_step = False

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def to_undo(self) -> list[str]:
        """Steps whose effects may exist: those that succeeded, and a remote step that timed out."""
        if self.undo_failed_step and self.failed_step is not None:
            return [*self.succeeded, self.failed_step]
        return list(self.succeeded)

    def step_succeeded(self, step: str) -> None:
        self.trigger_event(self.StepSucceeded, step=step)

    def step_failed(self, step: str, code: str, reason: str, *, undo_step: bool = False) -> None:
        self.trigger_event(
            self.StepFailed, step=step, code=code, reason=reason, undo_step=undo_step
        )

    def step_compensated(self, step: str) -> None:
        self.trigger_event(self.StepCompensated, step=step)

    def complete(self) -> None:
        self.trigger_event(self.Completed, **self.outcome_facts())

    def finish_compensation(self) -> None:
        self.trigger_event(
            self.Compensated if self.to_undo else self.Failed, **self.outcome_facts()
        )

    def outcome_facts(self) -> dict[str, Any]:
        """What a saga's final event tells subscribers; subclasses declare the fields on their
        own ``Completed``/``Compensated``/``Failed`` classes, so a subscriber of the outcome needs
        no other event to act on it."""
        return {}


S = TypeVar("S", bound=Saga)
C = TypeVar("C")
Effects = Sequence[BaseAggregate[UUID]]


@dataclass(frozen=True)
class Step(Generic[C, S]):
    """One step: its action, and the compensation that undoes it (if it needs undoing).

    An action returns the aggregates it changed, for the runner to save with the saga's own
    record of the step, or raises one of the saga's ``business_errors`` to say "no".
    A compensation must not say no: it is the way back, and it is retried until it succeeds.
    """

    name: str
    action: Callable[[C, S], Effects]
    compensation: Callable[[C, S], Effects] | None = None
    pivot: bool = False
    remote: bool = False
    # The ids of the aggregates the action and the compensation read: a batch reads them for
    # all its sagas at once, before the round (a hint; what a step reads unnamed is read then).
    reads: Callable[[S], Iterable[UUID]] | None = None


class SagaDefinition(Generic[C, S]):
    """A saga reads as its steps. Subclasses set the class attributes."""

    saga_class: ClassVar[type[Saga]]
    steps: ClassVar[tuple[Step[Any, Any], ...]]
    business_errors: ClassVar[tuple[type[Exception], ...]]

    @classmethod
    def step(cls, name: str) -> Step[C, S]:
        return next(s for s in cls.steps if s.name == name)

    @classmethod
    def next_step(cls, saga: Saga) -> Step[C, S] | None:
        return next((s for s in cls.steps if s.name not in saga.succeeded), None)

    @classmethod
    def past_pivot(cls, saga: Saga) -> bool:
        return any(s.pivot and s.name in saga.succeeded for s in cls.steps)

    @classmethod
    def next_compensation(cls, saga: Saga) -> Step[C, S] | None:
        return next(
            (
                s
                for s in reversed(cls.steps)
                if s.name in saga.to_undo
                and s.compensation is not None
                and s.name not in saga.compensated
            ),
            None,
        )


class SagaDefinitionError(RuntimeError):
    """A saga definition broke a rule the runner relies on; a bug, not a business "no"."""


class SagaContendedError(RuntimeError):
    """Another runner kept winning the version race; the saga is intact and can be resumed."""


AfterCommit = Callable[[Saga, str], None]


class SagaRunner(Generic[C, S]):
    """Drives sagas of one definition forward, one committed transition at a time."""

    max_conflicts = 100

    def __init__(
        self,
        app: EventSourcedApplication,
        definition: type[SagaDefinition[C, S]],
        context: C,
        *,
        after_commit: AfterCommit | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app = app
        self.definition = definition
        self.context = context
        self.after_commit = after_commit
        self.clock = clock

    def start(self, saga: S) -> S:
        """Record a new saga and run it to the end. Starting an existing id resumes that saga.

        The saga's start commits together with its first step, when that step is local: a
        remote first step commits elsewhere, so the start must be on record before it runs.
        """
        # A new saga has no recorded scope to resume: outside a request it starts its own.
        scope = nullcontext() if current() else correlation_scope(None, causation_id=str(saga.id))
        with scope:
            if self.definition.steps[0].remote:
                try:
                    self.app.save(saga)
                except RecordConflictError:
                    return self.run(saga.id)  # started before (a retry, or a concurrent twin)
                self._committed(saga, "started")
                return self._drive(saga)
            return self._start_with_first_step(saga)

    def _start_with_first_step(self, saga: S) -> S:
        for conflicts in range(1, self.max_conflicts + 1):
            attempt = copy.deepcopy(saga)  # a failed save leaves the object half-advanced
            try:
                transition = self._advance(attempt)
            except RecordConflictError:
                if self.app.find(saga.id, type(saga)) is not None:
                    return self.run(saga.id)  # started before (a retry, or a concurrent twin)
                _back_off(conflicts)  # a step's aggregate moved
                continue
            self._committed(attempt, transition)
            return self._drive(attempt)
        raise SagaContendedError(f"saga {saga.id} lost {self.max_conflicts} races to start")

    def run(self, saga_id: UUID) -> S:
        """Advance the saga until it is finished; return its final state. Run outside any
        correlation scope (by the recovery command), it resumes the one it started in."""
        with self._scope_of(saga_id):
            return self._drive(self.app.load(saga_id))

    def _scope_of(self, saga_id: UUID) -> AbstractContextManager[Any]:
        if current() is not None:
            return nullcontext()
        first = next(iter(self.app.events.get(saga_id, lte=1)), None)
        meta = vars(first).get(META_FIELD, {}) if first is not None else {}
        return correlation_scope(meta.get("correlation_id"), causation_id=str(saga_id))

    def _drive(self, saga: S) -> S:
        """Make transitions until the saga is finished. The saga in hand stays current after
        each save; only a lost version race means reloading it (the winner moved it on)."""
        conflicts = 0
        while not saga.is_finished:
            try:
                transition = self._advance(saga)
            except RecordConflictError:
                conflicts += 1
                if conflicts >= self.max_conflicts:
                    raise SagaContendedError(f"saga {saga.id} lost {conflicts} races") from None
                _back_off(conflicts)
                saga = self.app.load(saga.id)
                continue
            self._committed(saga, transition)
        return saga

    def _advance(self, saga: S) -> str:
        transition, effects = self._transition(saga)
        self.app.save(*effects, saga)
        return transition

    def _transition(self, saga: S) -> tuple[str, Effects]:
        """Make the saga's next transition in memory: what it is, and the aggregates it
        changed. The caller saves them with the saga, in one transaction."""
        if saga.status == SagaStatus.COMPENSATING:
            return self._compensate_next(saga)
        step = self.definition.next_step(saga)
        if step is None:
            saga.complete()
            return "completed", ()
        if self.clock() >= saga.deadline and not self.definition.past_pivot(saga):
            saga.step_failed(
                step.name,
                DEADLINE_EXCEEDED,
                f"not finished by its deadline {saga.deadline.isoformat()}",
                undo_step=step.remote,
            )
            self._finish_if_nothing_to_undo(saga)
            return f"failed:{step.name}", ()
        try:
            effects = step.action(self.context, saga)
        except self.definition.business_errors as error:
            if self.definition.past_pivot(saga):
                raise  # steps after the pivot must succeed when retried; this is a bug
            saga.step_failed(step.name, getattr(error, "code", "step_failed"), str(error))
            self._finish_if_nothing_to_undo(saga)
            return f"failed:{step.name}", ()
        saga.step_succeeded(step.name)
        if self.definition.next_step(saga) is None:
            saga.complete()  # the last step and the saga's end commit together
        return f"succeeded:{step.name}", effects

    def _compensate_next(self, saga: S) -> tuple[str, Effects]:
        step = self.definition.next_compensation(saga)
        if step is None:
            saga.finish_compensation()
            return str(saga.status), ()
        assert step.compensation is not None
        effects = step.compensation(self.context, saga)
        saga.step_compensated(step.name)
        self._finish_if_nothing_to_undo(saga)
        return f"compensated:{step.name}", effects

    def _finish_if_nothing_to_undo(self, saga: S) -> None:
        """End a compensating saga in the same commit as its last transition, when no
        compensation is left to run."""
        if self.definition.next_compensation(saga) is None:
            saga.finish_compensation()

    def _committed(self, saga: Saga, transition: str) -> None:
        if self.after_commit is not None:
            self.after_commit(saga, transition)

    # --- Many sagas in lockstep ------------------------------------------------------------
    # One saga a call pays a commit per transition. A batch pays a commit per *round*: each
    # round advances every unfinished saga of the batch by one transition, and saves them all,
    # with what their steps changed, in one transaction. Within a round an aggregate is one
    # object (``identity_map``), so the sagas' steps see each other: a second transfer from an
    # account the first has emptied is refused, as it would be one after the other.

    def start_batch(
        self, sagas: Sequence[S], *, linked: bool = False, records: Effects = ()
    ) -> list[S]:
        """Record new sagas and run them together to the end; return them in their final
        state, in the order given. ``records`` (the batch's own record, say) commit with the
        sagas' starts. Starting ids that exist resumes those sagas, as ``start`` does.

        ``linked`` makes the batch all or nothing: when a step of any saga is refused, that
        round is not committed; every saga records the step as failed instead (the refused
        ones with their own codes, the others with ``linked_event_failed``), and all
        compensate. So no saga of the batch may pass its pivot while another could still
        fail: sagas of one definition started together reach their pivots in the same round.
        """
        scope = nullcontext() if current() else correlation_scope(None)
        with scope:
            batch = _Batch(list(sagas), list(records), linked)
            if self.definition.steps[0].remote:
                self._record_starts(batch)  # a remote first step runs elsewhere: after them
            return self._drive_batch(batch)

    def run_batch(self, saga_ids: Sequence[UUID], *, linked: bool = False) -> list[S]:
        """Advance recorded sagas together until every one is finished (recovery of a batch)."""
        with self._scope_of(saga_ids[0]):
            return self._drive_batch(_Batch([self.app.load(i) for i in saga_ids], [], linked))

    def _record_starts(self, batch: _Batch[S]) -> None:
        for conflicts in range(1, self.max_conflicts + 1):
            try:
                self.app.save(*batch.records, *batch.sagas)
            except RecordConflictError:
                self._restore(batch)  # some were started before (a retry, or a twin)
                _back_off(conflicts)
                continue
            for saga in batch.sagas:
                if saga.id in batch.unsaved:
                    self._committed(saga, "started")
            batch.saved()
            return
        raise SagaContendedError(f"a batch of {len(batch.sagas)} sagas lost its races to start")

    def _drive_batch(self, batch: _Batch[S]) -> list[S]:
        """Rounds until every saga is finished. A round that loses a version race (a writer
        outside the batch moved one of its aggregates, or another runner one of its sagas)
        committed nothing: the sagas are read again, and the round is made again."""
        conflicts = 0
        while running := [saga for saga in batch.sagas if not saga.is_finished]:
            try:
                moves = self._round(batch, running)
            except RecordConflictError:
                conflicts += 1
                if conflicts >= self.max_conflicts:
                    raise SagaContendedError(
                        f"a batch of {len(batch.sagas)} sagas lost {conflicts} races"
                    ) from None
                _back_off(conflicts)
                self._restore(batch)
                continue
            batch.saved()
            for saga, transition in moves:
                self._committed(saga, transition)
        return batch.sagas

    def _round(self, batch: _Batch[S], running: list[S]) -> list[tuple[S, str]]:
        """Every running saga's next transition, saved in one transaction with the aggregates
        the steps changed (each aggregate one object: ``identity_map``)."""
        moves: list[tuple[S, str]] = []
        changed: dict[UUID, BaseAggregate[UUID]] = {}  # each once, though many steps moved it
        refused: dict[UUID, tuple[str | None, str | None, bool]] = {}
        with identity_map() as objects:
            objects.preload(self.app, self._reads(running))
            for saga in running:
                mark = objects.mark()
                transition, effects = self._transition(saga)
                if transition.startswith("failed:"):
                    if objects.changed_since(mark):
                        raise SagaDefinitionError(
                            f"{transition} changed what it read before it said no: in a batch, "
                            "a step must refuse before it changes anything"
                        )
                    refused[saga.id] = (
                        saga.failure_code,
                        saga.failure_reason,
                        saga.undo_failed_step,
                    )
                moves.append((saga, transition))
                changed.update((aggregate.id, aggregate) for aggregate in effects)
        if batch.linked and refused:
            self._restore(batch)  # nothing of this round happens: all fail at this step instead
            return self._fail_together(batch, refused)
        self.app.save(*batch.records, *changed.values(), *running)
        return moves

    def _reads(self, running: list[S]) -> Iterator[UUID]:
        """What the running sagas' next transitions will read, as their steps declare it."""
        for saga in running:
            if saga.status == SagaStatus.COMPENSATING:
                step = self.definition.next_compensation(saga)
            else:
                step = self.definition.next_step(saga)
            if step is not None and step.reads is not None:
                yield from step.reads(saga)

    def _fail_together(
        self, batch: _Batch[S], refused: dict[UUID, tuple[str | None, str | None, bool]]
    ) -> list[tuple[S, str]]:
        """A linked batch's refusal: every running saga fails at the step it was about to take,
        the refused ones with their own codes and reasons."""
        moves, running = [], [saga for saga in batch.sagas if not saga.is_finished]
        for saga in running:
            step = self.definition.next_step(saga)
            if step is None or self.definition.past_pivot(saga):
                raise SagaDefinitionError(f"saga {saga.id} passed its pivot in a linked batch")
            code, reason, undo_step = refused.get(saga.id, _LINKED_REFUSAL)
            saga.step_failed(step.name, code or "step_failed", reason or "", undo_step=undo_step)
            self._finish_if_nothing_to_undo(saga)
            moves.append((saga, f"failed:{step.name}"))
        self.app.save(*batch.records, *running)
        return moves

    def _restore(self, batch: _Batch[S]) -> None:
        """Put the batch back as the store has it, after a round that committed nothing. A saga
        (or record) never saved is its copy from before the first round, unless a twin saved
        it meanwhile (a retried request): the failed save took the events of the objects it
        was given, so they cannot be saved again."""
        sagas = []
        for saga in batch.sagas:
            stored = self.app.find(saga.id, type(saga))
            if stored is not None:
                batch.unsaved.pop(saga.id, None)
            sagas.append(stored or copy.deepcopy(batch.unsaved[saga.id]))
        batch.sagas = sagas
        batch.unsaved_records = [
            r for r in batch.unsaved_records if self.app.find(r.id, type(r)) is None
        ]
        batch.records = [copy.deepcopy(r) for r in batch.unsaved_records]


def _back_off(conflicts: int) -> None:
    """Wait a little longer after each lost version race (1 ms doubling, at most 0.1 s)."""
    time.sleep(min(0.001 * 2 ** min(conflicts, 7), 0.1))


_LINKED_REFUSAL = (LINKED_EVENT_FAILED, "Another saga of its linked batch was refused.", False)


class _Batch(Generic[S]):
    """The sagas a batch runner holds, and what of the batch the store does not have yet."""

    def __init__(self, sagas: list[S], records: list[BaseAggregate[UUID]], linked: bool) -> None:
        self.sagas, self.records, self.linked = sagas, records, linked
        # Copies from before the first save, for ``SagaRunner._restore``.
        self.unsaved = {saga.id: copy.deepcopy(saga) for saga in sagas if saga.pending_events}
        self.unsaved_records = [copy.deepcopy(record) for record in records]

    def saved(self) -> None:
        self.unsaved.clear()
        self.records, self.unsaved_records = [], []


# --- Finding sagas to recover -------------------------------------------------------------


def unfinished_saga_ids(app: EventSourcedApplication, saga_class: type[Saga]) -> list[UUID]:
    """Ids of sagas of ``saga_class`` that started and have not finished, oldest first.

    Reads only the start and end events from the notification log (a topic-filtered scan),
    so it needs no index of its own and cannot disagree with the sagas themselves.
    """
    started_topic = get_topic(saga_class.Started)
    ended = {
        get_topic(c) for c in (saga_class.Completed, saga_class.Compensated, saga_class.Failed)
    }
    topics = [started_topic, *sorted(ended)]
    open_sagas: dict[UUID, None] = {}
    position, page = 0, 1000
    while True:
        notifications = app.notifications_after(position, page, topics=topics)
        for n in notifications:
            saga_id = n.originator_id
            assert isinstance(saga_id, UUID)
            if n.topic == started_topic:
                open_sagas[saga_id] = None
            else:
                open_sagas.pop(saga_id, None)
        if len(notifications) < page:
            return list(open_sagas)
        position = notifications[-1].id


def deadline_from_now(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
