"""The web process on a three-node cluster: `/api/live/` keeps streaming without a gap, and
`/healthz` says NATS is up, while the stream's leader is dead and after it is back."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.cluster.conftest import ClusterBus, NatsCluster
from tests.integration.conftest import commands  # noqa: F401  (a fixture)
from tests.integration.test_live import (
    LiveServer,
    ids,
    publish,
    token_for,
    web_server,  # noqa: F401  (a fixture)
)
from tests.support import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def health(server: LiveServer) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/healthz")
        body: dict[str, Any] = json.loads(connection.getresponse().read())
        return body
    finally:
        connection.close()


def published_again(bus: ClusterBus, count: int) -> list[int]:
    try:
        return publish(bus, count)
    except Exception:  # JetStream elects the stream's new leader first
        return []


def test_the_live_stream_and_the_health_check_ride_out_losing_the_stream_leader(
    web_server: Callable[..., LiveServer],  # noqa: F811  (the fixture imported above)
    cluster_bus: ClusterBus,
    nats_cluster: NatsCluster,
) -> None:
    server = web_server(EVENTBANK_STREAM_REPLICAS="3")
    stream = server.open(token=token_for("operator", staff=True))
    before = publish(cluster_bus, 5)
    assert ids(stream.events(lambda found: len(found) == 5)) == before

    leader = nats_cluster.node(nats_cluster.wait_until_whole(cluster_bus.stream).leader or "")
    leader.kill()
    after = wait_for(partial(published_again, cluster_bus, 5), timeout=30, what="a new leader")
    assert health(server)["nats"] == "ok"  # two nodes of three answer
    got = ids(stream.events(lambda found: len(found) == 5, timeout=30))
    assert got == after == list(range(before[-1] + 1, before[-1] + 6))  # no gap, none twice

    leader.start()
    nats_cluster.wait_until_whole(cluster_bus.stream)
    wait_for(lambda: health(server).get("stream") == "ok", timeout=30, what="the stream healthy")
