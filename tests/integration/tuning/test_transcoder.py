"""``tuning/transcoder.py`` on every kind of event and snapshot the contexts store: a store
written by the library's own transcoder (the demo, a batch, refusals, compensations, alerts,
snapshots) is read alike by ours, and ours writes each of its states back byte for byte."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import JSONTranscoder

from config.container import Container, build_container
from ledger.application import TransferInstruction
from ops.demo import seed_demo
from tests.support import funded
from tuning.transcoder import OrjsonTranscoder

pytestmark = pytest.mark.django_db


@pytest.fixture
def untuned(store_urls: dict[str, str]) -> Iterator[Container]:
    container = build_container(store_urls, tuning=())
    yield container
    container.close()


def test_every_stored_state_is_read_alike_and_written_back_byte_for_byte(
    untuned: Container,
) -> None:
    seed_demo(untuned)
    ledger = untuned.ledger
    rich, poor = funded(ledger, 5_000), funded(ledger, 0)
    ledger.freeze_account(poor, "review")
    ledger.transfer_batch(
        [TransferInstruction(rich, poor, 100, "blocked"), TransferInstruction(poor, rich, 1)]
    )
    for n in range(120):  # past the snapshot interval
        ledger.deposit(rich, 1, f"d{n}")
    untuned.compliance.raise_alert(rich, rich, 9_999, "EUR", "large_transfer", "Zoë's ☃")

    states, kinds = [], set()
    for app in untuned.applications.values():
        assert type(app.mapper.transcoder) is JSONTranscoder  # written the library's way
        ids = set()
        for notification in app.recorder.select_notifications(start=1, limit=100_000):
            states.append(notification.state)
            kinds.add(notification.topic)
            ids.add(notification.originator_id)
        if app.snapshots is not None:
            for aggregate_id in ids:
                for snapshot in app.snapshots.recorder.select_events(aggregate_id):
                    states.append(snapshot.state)
                    kinds.add(f"snapshot of {snapshot.topic}")
    assert len(kinds) >= 20 and any(k.startswith("snapshot") for k in kinds), kinds

    library, ours = JSONTranscoder(), OrjsonTranscoder()
    for transcoder in (library, ours):
        untuned.ledger.register_transcodings(transcoder)
    for state in states:
        read = library.decode(state)
        assert ours.decode(state) == read
        assert ours.encode(read) == state
