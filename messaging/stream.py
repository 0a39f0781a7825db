"""The one JetStream stream that holds every event, and the subject each event goes to."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

# Long enough that a relay restarted after an outage still has its re-sent window deduplicated.
DUPLICATE_WINDOW_SECONDS = 2 * 60 * 60


@dataclass(frozen=True)
class StreamSettings:
    name: str
    prefix: str

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
        )


def stream_settings() -> StreamSettings:
    from django.conf import settings

    return StreamSettings(name=settings.NATS_STREAM, prefix=settings.SUBJECT_PREFIX)


async def ensure_stream(js: JetStreamContext, stream: StreamSettings) -> str:
    """Create the stream, or bring an existing one to this configuration. Returns what it did."""
    try:
        await js.stream_info(stream.name)
    except NotFoundError:
        await js.add_stream(stream.config())
        return "created"
    await js.update_stream(stream.config())
    return "updated"
