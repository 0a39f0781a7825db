"""Rebuild a projection from history while its readers keep reading the old rows.

    build     history (the stream, or the event stores) is applied to a *shadow* table: a copy
              of the read model's table that no reader and no live projector touches;
    catch up  what was stored meanwhile is applied from the event stores, the last of it while
              holding the projection's lock (the live projector waits a moment);
    swap      in that same transaction the read model's rows are replaced by the shadow's.
              A reader sees the old rows or the new ones: never a mix, never an empty table.

The live projector keeps its stream position: whatever it applies after the swap is already in
the new rows, and the version each row records makes that a no-op. ``since`` replays from a
time on top of the existing rows instead: no shadow, and the live lock held for each batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

from django.apps.registry import Apps
from django.db import connection, models, transaction

from kernel.application import EventSourcedApplication
from messaging.connection import jetstream_session
from messaging.locks import lock_for
from messaging.models import DeadLetter, SubscriberPosition
from messaging.replay import replay_from_store
from messaging.subscriber import Delivery, Subscriber
from projections.projectors import PROJECTORS, Projector, written_fields

Source = Literal["nats", "store"]
REBUILD_SUFFIX = ":rebuild"
# Events a rebuild applies per transaction: four times a live subscriber's batch, which keeps
# a commit's delay short. A rebuild has no reader waiting on it, and each batch pays a position
# row, a commit and a fetch, so larger batches take less time (docs/performance.md).
REBUILD_BATCH = 2000


class RebuildError(RuntimeError):
    """The rebuild could not run; the live projection is as it was."""


class UnknownProjection(RebuildError, LookupError):
    pass


def projector_named(name: str) -> type[Projector]:
    try:
        return PROJECTORS[name]
    except KeyError:
        known = ", ".join(sorted(PROJECTORS))
        raise UnknownProjection(f"unknown projection {name!r} (known: {known})") from None


@dataclass(frozen=True)
class Progress:
    """How far a rebuild has read: ``position`` of ``end`` in its log (stream sequences, or
    notification ids summed over the sources), and how many events it has applied."""

    phase: str
    applied: int
    position: int
    end: int


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    applied: int  # events applied (to the shadow, or over the rows with ``since``)
    rows: int  # rows in the read model afterwards
    seconds: float


OnProgress = Callable[[Progress], None]


class RebuildWriter:
    """The projector under a subscriber name of its own, writing to the rows it was given.
    Writing to the live rows (``since``), each batch also holds the live projector's lock.

    ``since`` is event time. A stream consumer started at that time may also deliver older
    events that were published late (its clock is publication time): they are skipped here."""

    def __init__(
        self, projector: Projector, *, live_rows: bool, since: datetime | None = None
    ) -> None:
        self.projector = projector
        self.live_rows = live_rows
        self.since = since
        self.name = projector.name + REBUILD_SUFFIX
        self.event_types: Sequence[str] = projector.event_types

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        if self.since is not None:
            since = self.since
            deliveries = [
                d for d in deliveries if datetime.fromisoformat(d.event["timestamp"]) >= since
            ]
        if self.live_rows:
            SubscriberPosition.locked(self.projector.name)
        self.projector.apply(deliveries)


def rebuild(
    name: str,
    applications: Mapping[str, EventSourcedApplication],
    *,
    source: Source = "nats",
    nats_url: str = "",
    since: datetime | None = None,
    on_progress: OnProgress = lambda progress: None,
) -> RebuildResult:
    """Rebuild the projection ``name`` (see the module's docstring); one rebuild at a time."""
    projector = projector_named(name)
    if source == "nats" and not nats_url:
        raise RebuildError("NATS_URL is not set: rebuild from NATS needs it (or --source store)")
    lock = lock_for(f"rebuild:{name}")
    if not lock.try_acquire():
        raise RebuildError(f"another rebuild of {name} is running")
    began = time.monotonic()
    try:
        if since is not None:
            writer = RebuildWriter(projector(), live_rows=True, since=since)
            try:
                applied = _read_history(writer, applications, source, nats_url, since, on_progress)
            finally:
                _retire(writer, dead_letters_to=projector.name)
        else:
            applied = _rebuild_in_shadow(projector, applications, source, nats_url, on_progress)
    finally:
        lock.release()
    rows = projector.model._default_manager.count()
    return RebuildResult(name, applied, rows, time.monotonic() - began)


def _rebuild_in_shadow(
    projector: type[Projector],
    applications: Mapping[str, EventSourcedApplication],
    source: Source,
    nats_url: str,
    on_progress: OnProgress,
) -> int:
    shadow = shadow_model(projector.model)
    _create_table(shadow)
    writer = RebuildWriter(projector(rows=shadow), live_rows=False)
    try:
        _retire(writer)  # an earlier, interrupted rebuild's position
        applied = _read_history(writer, applications, source, nats_url, None, on_progress)
        reached = _positions(writer.name)
        heads = _heads(applications)
        on_progress(Progress("catch up", applied, sum(reached.values()), sum(heads.values())))
        applied += replay_from_store(
            writer, applications, after=reached, until=heads, batch=REBUILD_BATCH
        )
        with transaction.atomic():
            live = SubscriberPosition.locked(projector.name)
            final = _heads(applications)
            applied += replay_from_store(
                writer, applications, after=heads, until=final, batch=REBUILD_BATCH
            )
            on_progress(Progress("swap", applied, sum(final.values()), sum(final.values())))
            _swap(projector.model, shadow)
            live.source_positions = {
                log: max(live.caught_up_to(log), position)
                for log, position in {**live.source_positions, **final}.items()
            }
            live.save(update_fields=["source_positions", "updated_at"])
            _retire(writer, dead_letters_to=projector.name)
    finally:
        _drop_table(shadow)
        _retire(writer)
    return applied


def _read_history(
    writer: RebuildWriter,
    applications: Mapping[str, EventSourcedApplication],
    source: Source,
    nats_url: str,
    since: datetime | None,
    on_progress: OnProgress,
) -> int:
    """Apply the history ``writer`` wants, from the stream or the stores; return how many."""
    if source == "nats":
        return asyncio.run(_read_stream(writer, nats_url, since, on_progress))
    heads = _heads(applications)
    reached: dict[str, int] = {}
    applied = 0

    def report(batch: Sequence[Delivery]) -> None:
        nonlocal applied
        applied += len(batch)
        reached[batch[-1].event["source"]] = batch[-1].event["position"]
        on_progress(Progress("build", applied, sum(reached.values()), sum(heads.values())))

    replay_from_store(
        writer, applications, since=since, until=heads, batch=REBUILD_BATCH, on_batch=report
    )
    _record(writer.name, heads)
    return applied


async def _read_stream(
    writer: RebuildWriter, url: str, since: datetime | None, on_progress: OnProgress
) -> int:
    async with jetstream_session(url, name=f"eventbank-{writer.name}") as (js, stream):
        state = (await js.stream_info(stream.name)).state
        if since is None and state.first_seq > 1 and state.messages:
            raise RebuildError(
                f"the stream starts at sequence {state.first_seq}: older events are gone from "
                "it; rebuild with --source store"
            )
        subscriber = Subscriber(writer, js, stream, batch=REBUILD_BATCH)
        await subscriber.rewind(sequence=1, since=since)
        run = asyncio.create_task(subscriber.run(asyncio.Event(), once=True))
        while not run.done():
            await asyncio.wait({run}, timeout=0.5)
            stats = subscriber.stats
            on_progress(Progress("build", stats.applied, stats.sequence, state.last_seq))
        await run
        return subscriber.stats.applied


# --- The shadow table -------------------------------------------------------------------------

# Shadow models live in a registry of their own, so migrations and the admin never see them.
_shadow_models = Apps()


@cache
def shadow_model(model: type[models.Model]) -> type[models.Model]:
    """An unmanaged twin of ``model`` on the table ``<table>_shadow``: the same columns, its
    unique constraints renamed (index names are global), and no other index, so it fills fast.
    Read models have no foreign keys, so a twin needs nothing else."""
    meta = model._meta
    constraints = []
    for constraint in meta.constraints:
        _, args, kwargs = constraint.deconstruct()
        constraints.append(type(constraint)(*args, **{**kwargs, "name": f"{constraint.name}_sh"}))
    options = {
        "app_label": meta.app_label,
        "db_table": f"{meta.db_table}_shadow",
        "managed": False,
        "apps": _shadow_models,
        "constraints": constraints,
    }
    attributes: dict[str, Any] = {"__module__": model.__module__, "Meta": type("Meta", (), options)}
    for field in meta.local_fields:
        _, _, args, kwargs = field.deconstruct()
        attributes[field.name] = type(field)(*args, **kwargs)
    return type(f"{model.__name__}Shadow", (models.Model,), attributes)


def _create_table(shadow: type[models.Model]) -> None:
    _drop_table(shadow)
    with connection.schema_editor() as editor:
        editor.create_model(shadow)


def _drop_table(shadow: type[models.Model]) -> None:
    if shadow._meta.db_table in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.delete_model(shadow)


def _swap(model: type[models.Model], shadow: type[models.Model]) -> None:
    """In the caller's transaction, make the read model's rows the shadow's. Serial keys are
    left to the read model's own sequence: copying them would put it behind its rows."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in written_fields(model))
    live, copy = quote(model._meta.db_table), quote(shadow._meta.db_table)
    with connection.cursor() as cursor:
        # Identifiers only, quoted by the backend: nothing here comes from input.
        cursor.execute(f"DELETE FROM {live}")  # noqa: S608
        cursor.execute(f"INSERT INTO {live} ({columns}) SELECT {columns} FROM {copy}")  # noqa: S608


# --- Positions --------------------------------------------------------------------------------


def _heads(applications: Mapping[str, EventSourcedApplication]) -> dict[str, int]:
    return {source: app.max_position() for source, app in applications.items()}


def _positions(name: str) -> dict[str, int]:
    row = SubscriberPosition.objects.filter(name=name).first()
    return dict(row.source_positions) if row else {}


def _record(name: str, positions: Mapping[str, int]) -> None:
    SubscriberPosition.objects.update_or_create(
        name=name, defaults={"source_positions": dict(positions)}
    )


def _retire(writer: RebuildWriter, *, dead_letters_to: str | None = None) -> None:
    """Forget the rebuild's own position. Its dead letters become the live projector's when its
    work is now the live rows' (which would have parked the same messages), so
    ``retry_dead_letters`` finds a handler for them; otherwise they go with the shadow."""
    parked = DeadLetter.objects.filter(subscriber=writer.name)
    if dead_letters_to is not None:
        already = DeadLetter.objects.filter(subscriber=dead_letters_to).values("stream_sequence")
        parked.filter(stream_sequence__in=already).delete()
        parked.update(subscriber=dead_letters_to)
    else:
        parked.delete()
    SubscriberPosition.objects.filter(name=writer.name).delete()
