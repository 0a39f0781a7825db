"""The one JetStream stream that holds every event, and the subject each event goes to."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from messaging.elections import through_an_election

# Long enough that a relay restarted after an outage still has its re-sent window deduplicated.
DUPLICATE_WINDOW_SECONDS = 2 * 60 * 60
# JetStream's error code for "stream name already in use with a different configuration": a
# create that timed out earlier took effect after all.
STREAM_NAME_IN_USE = 10058


@dataclass(frozen=True)
class StreamSettings:
    name: str
    prefix: str
    # How many nodes of a cluster hold the stream: 1 on one server, 3 on a three-node cluster
    # (a quorum of two survives the loss of any one node).
    replicas: int = 1

    @property
    def subjects(self) -> list[str]:
        return [f"{self.prefix}.>"]

    def subject(self, event_type: str) -> str:
        """``account.debited`` -> ``eventbank.account.debited``."""
        return f"{self.prefix}.{event_type}"

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=self.subjects,
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            allow_direct=True,
            num_replicas=self.replicas,
        )


def stream_settings() -> StreamSettings:
    from django.conf import settings

    return StreamSettings(
        name=settings.NATS_STREAM, prefix=settings.SUBJECT_PREFIX, replicas=settings.STREAM_REPLICAS
    )


async def ensure_stream(js: JetStreamContext, stream: StreamSettings) -> str:
    """Create the stream, or bring an existing one to this configuration. Returns what it did.

    Safe to run at every start, and through an election: each attempt looks the stream up
    before it creates or updates, since a create that timed out may have happened after all."""
    return await through_an_election(
        lambda: _create_or_update(js, stream), what=f"stream {stream.name}"
    )


async def _create_or_update(js: JetStreamContext, stream: StreamSettings) -> str:
    while True:
        try:
            await js.stream_info(stream.name)
        except NotFoundError:
            try:
                await js.add_stream(stream.config())
            except BadRequestError as exc:
                if exc.err_code == STREAM_NAME_IN_USE:
                    continue  # created meanwhile (an earlier, timed-out create): update it
                raise
            return "created"
        await js.update_stream(stream.config())
        return "updated"
