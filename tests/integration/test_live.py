"""``GET /api/live/`` on the real web server (granian, ``config.asgi``) against a real
nats-server: who sees which events, resuming exactly after a sequence (while events are being
published), a sequence the stream no longer holds, heartbeats, clients that go away or cannot
keep up, a NATS restart mid-stream, and every refusal in the API's error shape."""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from config.container import Container
from messaging.connection import connect
from messaging.embedded import free_port, wait_until_listening
from messaging.runtime import relay_events, setup_nats
from tests.integration.conftest import ROOT, Bus, Commands
from tests.support import funded, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


# --- A Server-Sent Events client -------------------------------------------------------------


@dataclass
class Frame:
    """One thing the stream sent: an event (``id``, ``event``, ``data``), or a comment."""

    id: int | None = None
    event: str | None = None
    data: Any = None
    comment: str | None = None
    retry: int | None = None


@dataclass
class Stream:
    """An open ``GET /api/live/``, read by a thread of its own into ``frames``."""

    connection: http.client.HTTPConnection
    response: http.client.HTTPResponse
    frames: queue.Queue[Frame | None] = field(default_factory=queue.Queue)

    def start(self) -> Stream:
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        frame, pending = Frame(), b""
        try:
            # read1, not readline: http.client's readline on a chunked body waits for the next
            # chunk to begin before it gives the last line of this one.
            while data := self.response.read1(1 << 16):
                pending += data
                while b"\n" in pending:
                    raw, pending = pending.split(b"\n", 1)
                    frame = self._line(raw.decode(), frame)
        except (OSError, ValueError, http.client.HTTPException, AttributeError):
            pass  # closed: by the server, or by ``close`` under the reader (no file left to read)
        self.frames.put(None)  # the stream ended

    def _line(self, line: str, frame: Frame) -> Frame:
        """Take one line into ``frame``; a blank line sends it on and starts the next."""
        if not line:
            self.frames.put(frame)
            return Frame()
        if line.startswith(":"):
            frame.comment = line[1:].strip()
            return frame
        name, _, value = line.partition(": ")
        if name == "id":
            frame.id = int(value)
        elif name == "data":
            frame.data = json.loads(value)
        elif name == "retry":
            frame.retry = int(value)
        else:
            setattr(frame, name, value)
        return frame

    def next(self, timeout: float = 10) -> Frame | None:
        return self.frames.get(timeout=timeout)

    def events(self, until: Callable[[list[Frame]], bool], timeout: float = 20) -> list[Frame]:
        """The events (no comments) read until ``until(events)`` holds."""
        found: list[Frame] = []
        deadline = time.monotonic() + timeout
        while not until(found):
            try:
                frame = self.next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"only {[(f.id, f.event) for f in found]}") from None
            assert frame is not None, f"the stream ended after {[f.id for f in found]}"
            if frame.comment is None and frame.retry is None:
                found.append(frame)
        return found

    def close(self) -> None:
        """Hang up. The socket is shut down first: the reader thread's blocked read holds the
        response's file, which a plain close would wait for."""
        if self.connection.sock is not None:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def open(self, path: str = "/api/live/", token: str | None = None, **headers: str) -> Any:
        """``GET path``: an open ``Stream`` when it answers 200, else (status, JSON body,
        headers)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        if token:
            headers["Authorization"] = f"Token {token}"
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            answer = (response.status, json.loads(response.read()), response.headers)
            connection.close()
            return answer
        assert response.getheader("Content-Type") == "text/event-stream"
        return Stream(connection, response).start()

    def streams_open(self, staff_token: str) -> int:
        """``eventbank_live_streams`` as ``/metrics`` reports it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", "/metrics", headers={"Authorization": f"Token {staff_token}"})
        text = connection.getresponse().read().decode()
        connection.close()
        (line,) = [x for x in text.splitlines() if x.startswith("eventbank_live_streams ")]
        return int(float(line.split()[1]))


@pytest.fixture
def web_server(commands: Commands, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``start(**env)``: the web server, one worker, on this test's databases and on the stream
    the settings name by then (the test's ``bus`` or ``private_bus``)."""
    started: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        nats = {
            "NATS_URL": settings.NATS_URL,
            "EVENTBANK_NATS_STREAM": settings.NATS_STREAM,
            "EVENTBANK_SUBJECT_PREFIX": settings.SUBJECT_PREFIX,
        }
        if "NATS_URL" not in env:
            asyncio.run(setup_nats(settings.NATS_URL))
        port = free_port()
        log = tmp_path / f"web-{len(started)}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.web_server", "--port", str(port), "--workers", "1",
             "--threads", "2"],
            cwd=ROOT,
            env={**commands.env, **nats, "EVENTBANK_LIVE_HEARTBEAT_SECONDS": "30",
                 "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}"), **env},
            stdout=log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until_listening(port)
        server = LiveServer(port, process, log)
        started.append(server)
        return server

    yield start
    for server in started:
        server.process.terminate()
        server.process.wait(30)


def token_for(username: str, *, staff: bool = False) -> str:
    user = get_user_model().objects.create_user(username, password="pw-live-42", is_staff=staff)
    return Token.objects.create(user=user).key


def relay(container: Container, bus: Bus) -> None:
    asyncio.run(relay_events(container.applications, bus.url, once=True, stop=asyncio.Event()))


def publish(bus: Bus, count: int, size: int = 0) -> list[int]:
    """``count`` compliance events (staff only: nobody's to look up) straight to the stream;
    their sequences."""

    async def send() -> list[int]:
        client = await connect(bus.url, name="test-publisher", daemon=False)
        try:
            js = client.jetstream()
            sequences = []
            for _ in range(count):
                envelope = {
                    "id": str(uuid4()), "type": "compliance.alert.raised", "source": "compliance",
                    "aggregate_id": str(uuid4()), "aggregate_version": 1, "position": 1,
                    "timestamp": "2026-12-07T00:00:00Z", "correlation_id": None,
                    "causation_id": None, "data": {"note": "x" * size},
                }  # fmt: skip
                ack = await js.publish(
                    f"{bus.prefix}.compliance.alert.raised", json.dumps(envelope).encode()
                )
                sequences.append(ack.seq)
            return sequences
        finally:
            await client.close()

    return asyncio.run(send())


def ids(frames: list[Frame]) -> list[int]:
    return [f.id for f in frames if f.id is not None]


def reached(sequence: int, found: list[Frame]) -> bool:
    return bool(found) and (found[-1].id or 0) >= sequence


# --- Who sees what -----------------------------------------------------------------------------


def test_a_customer_gets_the_events_of_its_own_accounts_transfers_and_orders_only(
    web_server: Callable[..., LiveServer], container: Container, bus: Bus
) -> None:
    alice, bob = token_for("alice"), token_for("bob")
    server = web_server()
    alice_stream, bob_stream = server.open(token=alice), server.open(token=bob)
    ledger, orders = container.ledger, container.orders
    current, savings = funded(ledger, 10_000, owner="alice"), funded(ledger, 0, owner="alice")
    bobs = funded(ledger, 5_000, owner="bob")
    transfer = ledger.transfer_funds(current, savings, 2_500)
    orders.create_product("MUG", "Mug", 1_000, 5)
    order = orders.place_order("alice", current, [("MUG", 1)])
    ledger.transfer_funds(bobs, savings, 100)  # into alice's account: hers to see too
    relay(container, bus)

    # Two transfers concern alice, her own and bob's into her savings, and the hold that
    # authorises her order's payment on her account.
    seen = alice_stream.events(
        lambda found: (
            any(f.event == "order.confirmed" for f in found)
            and sum(f.event == "transfer.completed" for f in found) == 2
        )
    )
    types = {frame.event for frame in seen}
    assert {"account.opened", "account.credited", "account.debited", "transfer.started",
            "transfer.completed", "hold.placed", "account.debit_held", "order.created",
            "inventory.reserved", "payment.authorized", "order.confirmed",
            "order_placement.started"} <= types  # fmt: skip
    assert "product.created" not in types  # the catalogue is staff's
    mug = container.orders.get_product("MUG").id
    theirs = {str(current), str(savings), str(transfer.id), str(order.order_id), str(order.id)}
    for frame in seen:
        assert frame.event == frame.data["type"]
        assert frame.data["aggregate_id"] != str(bobs)  # bob's account is bob's alone
        if frame.data["source"] == "orders":
            assert frame.data["aggregate_id"] in theirs | {str(mug)}, frame.data
    assert ids(seen) == sorted(ids(seen))

    bob_sees = bob_stream.events(
        lambda found: sum(f.event == "transfer.completed" for f in found) == 1
    )
    assert {f.data["aggregate_id"] for f in bob_sees if f.event.startswith("account.")} == {
        str(bobs)
    }
    assert not any(f.data["source"] == "orders" for f in bob_sees)
    assert not any(f.data["aggregate_id"] == str(transfer.id) for f in bob_sees)


def test_staff_see_every_event_and_narrow_it_by_source_and_type(
    web_server: Callable[..., LiveServer], container: Container, bus: Bus
) -> None:
    staff = token_for("operator", staff=True)
    server = web_server()
    everything = server.open(token=staff)
    orders_only = server.open("/api/live/?source=orders", token=staff)
    transfers = server.open("/api/live/?type=transfer.", token=staff)
    debits = server.open("/api/live/?type=account.debited", token=staff)
    ledger = container.ledger
    first, second = funded(ledger, 10_000, owner="carol"), funded(ledger, 0, owner="dave")
    ledger.transfer_funds(first, second, 100)
    container.orders.create_product("TEA", "Tea", 499, 3)
    relay(container, bus)

    seen = everything.events(lambda found: {"transfer.completed", "product.created"} <= {
        f.event for f in found
    })  # fmt: skip
    assert {f.data["source"] for f in seen} == {"ledger", "orders"}
    assert {f.event for f in orders_only.events(lambda found: len(found) == 1)} == {
        "product.created"
    }
    narrowed = transfers.events(
        lambda found: found[-1:] and found[-1].event == "transfer.completed"
    )
    assert {f.event.split(".")[0] for f in narrowed} == {"transfer"}
    (debit,) = debits.events(lambda found: len(found) == 1)
    assert debit.event == "account.debited"
    assert ids(narrowed) == [f.id for f in seen if f.event.startswith("transfer.")]


# --- Resuming exactly --------------------------------------------------------------------------


def test_resuming_after_a_sequence_gives_exactly_what_came_after_it(
    web_server: Callable[..., LiveServer], bus: Bus
) -> None:
    """By the header EventSource sends and by the query parameter, even while events are being
    published: every resumed stream reads the stream's events after its sequence, then the
    hub's, and shows each exactly once, in order."""
    staff = token_for("operator", staff=True)
    server = web_server()
    published = publish(bus, 30)
    stop, publisher = threading.Event(), None

    def keep_publishing() -> None:
        while not stop.is_set():
            published.extend(publish(bus, 5))

    try:
        publisher = threading.Thread(target=keep_publishing)
        publisher.start()
        rng = random.Random(29)
        for attempt in range(12):
            after = rng.randrange(0, len(published))
            by_header = attempt % 2 == 0
            stream = (
                server.open(token=staff, **{"Last-Event-ID": str(after)})
                if by_header
                else server.open(f"/api/live/?last_event_id={after}", token=staff)
            )
            target = published[-1] + 20  # beyond what the catch-up reads: the hub's too
            got = ids(stream.events(partial(reached, target), timeout=30))
            stream.close()
            assert got == list(range(after + 1, target + 1)), (after, by_header, got[:5])
    finally:
        stop.set()
        if publisher is not None:
            publisher.join()


def test_a_sequence_the_stream_no_longer_holds_is_answered_with_reset(
    web_server: Callable[..., LiveServer], bus: Bus
) -> None:
    staff = token_for("operator", staff=True)
    server = web_server()
    publish(bus, 10)

    async def purge() -> None:
        client = await connect(bus.url, name="test-purge", daemon=False)
        try:
            await client.jetstream().purge_stream(bus.stream, keep=4)  # 7..10 stay
        finally:
            await client.close()

    asyncio.run(purge())
    for resumed in ("2", "5000"):  # purged, and one the stream never had
        stream = server.open(token=staff, **{"Last-Event-ID": resumed})
        assert stream.next().retry == 2000
        reset = stream.next()
        assert (reset.event, reset.id, reset.data) == ("reset", 6, {"first_sequence": 7})
        assert ids(stream.events(lambda found: len(found) == 4)) == [7, 8, 9, 10]
        stream.close()
    held = server.open(token=staff, **{"Last-Event-ID": "6"})  # nothing missing: no reset
    assert ids(held.events(lambda found: len(found) == 4)) == [7, 8, 9, 10]


# --- Keeping streams honest ------------------------------------------------------------------


def test_a_quiet_stream_sends_heartbeats(web_server: Callable[..., LiveServer], bus: Bus) -> None:
    server = web_server(EVENTBANK_LIVE_HEARTBEAT_SECONDS="0.3")
    stream = server.open(token=token_for("alice"))
    assert stream.next().retry == 2000
    started = time.monotonic()
    comments = [stream.next(5).comment for _ in range(3)]
    assert comments == ["heartbeat"] * 3
    assert time.monotonic() - started < 3


def test_a_client_that_goes_away_is_forgotten(
    web_server: Callable[..., LiveServer], bus: Bus
) -> None:
    staff = token_for("operator", staff=True)
    server = web_server()
    streams = [server.open(token=staff) for _ in range(3)]
    wait_for(lambda: server.streams_open(staff) == 3, what="three streams")
    streams[0].close()
    streams[1].close()
    wait_for(lambda: server.streams_open(staff) == 1, timeout=5, what="two forgotten")
    published = publish(bus, 3)
    assert ids(streams[2].events(lambda found: len(found) == 3)) == published


def test_a_client_that_cannot_keep_up_is_cut_off_and_the_others_miss_nothing(
    web_server: Callable[..., LiveServer], bus: Bus
) -> None:
    """A client that reads nothing: its writes wait on the socket, its queue fills, and the hub
    cuts it off rather than keep what it has not read; a client that reads gets every event."""
    staff = token_for("operator", staff=True)
    server = web_server(EVENTBANK_LIVE_QUEUE="200")
    reading = server.open("/api/live/?type=compliance.", token=staff)
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(
        f"GET /api/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {staff}\r\n\r\n"
        .encode()
    )  # fmt: skip
    wait_for(lambda: server.streams_open(staff) == 2, what="both streams")
    published: list[int] = []
    deadline = time.monotonic() + 60
    while server.streams_open(staff) == 2:  # megabytes, more than the socket and server hold
        assert time.monotonic() < deadline, f"not cut off after {len(published)} events"
        published += publish(bus, 200, size=16_000)
    got = reading.events(lambda found: len(found) == len(published), timeout=60)
    assert ids(got) == published
    stalled.close()


def test_the_stream_rides_out_a_nats_restart_without_a_gap(
    web_server: Callable[..., LiveServer], private_bus: Bus
) -> None:
    staff = token_for("operator", staff=True)
    server = web_server()
    stream = server.open(token=staff)
    before = publish(private_bus, 5)
    assert ids(stream.events(lambda found: len(found) == 5)) == before
    private_bus.server.restart()

    def published_again() -> list[int]:
        try:
            return publish(private_bus, 5)
        except Exception:  # JetStream answers a moment after the server does
            return []

    after = wait_for(published_again, timeout=30, what="JetStream back")
    got = ids(stream.events(lambda found: len(found) == 5, timeout=30))
    assert got == after == list(range(before[-1] + 1, before[-1] + 6))


# --- Refusals ----------------------------------------------------------------------------------


def assert_refused(answer: Any, status: int, code: str) -> Any:
    got_status, body, headers = answer
    assert (got_status, body["code"]) == (status, code), body
    assert set(body) == {"code", "message", "details"}
    assert headers["Content-Type"] == "application/json"
    return headers


def test_refusals_are_in_the_api_s_error_shape(
    web_server: Callable[..., LiveServer], bus: Bus
) -> None:
    alice = token_for("alice")
    server = web_server(EVENTBANK_LIVE_STREAMS_PER_USER="2")
    headers = assert_refused(server.open(), 401, "not_authenticated")
    assert headers["WWW-Authenticate"] == "Token"
    assert_refused(server.open(token="not-a-token"), 401, "authentication_failed")
    for query in ("source=nowhere", "type=account.nothing", "type=accounts.", "last_event_id=-1",
                  "last_event_id=x", "last_event_id=99999999999999999999", "page=2",
                  "type=" + "a" * 101):  # fmt: skip
        assert_refused(server.open(f"/api/live/?{query}", token=alice), 400, "invalid")
    assert_refused(server.open(token=alice, **{"Last-Event-ID": "²"}), 400, "invalid")
    streams = [server.open(token=alice) for _ in range(2)]
    headers = assert_refused(server.open(token=alice), 429, "throttled")
    assert int(headers["Retry-After"]) >= 1
    assert isinstance(server.open(token=token_for("bob")), Stream)  # the limit is per user
    streams[0].close()
    wait_for(lambda: isinstance(server.open(token=alice), Stream), timeout=5, what="room again")

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(
        "POST", "/api/live/", body=b"{}", headers={"Authorization": f"Token {alice}"}
    )
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["code"]) == (405, "method_not_allowed")


def test_without_nats_a_stream_is_refused_with_503(
    web_server: Callable[..., LiveServer],
) -> None:
    alice = token_for("alice")
    server = web_server(NATS_URL=f"nats://127.0.0.1:{free_port()}")
    headers = assert_refused(server.open(token=alice), 503, "unavailable")
    assert headers["Retry-After"] == "1"


def test_a_burst_of_streams_from_one_user_gets_exactly_its_limit(
    web_server: Callable[..., LiveServer], bus: Bus
) -> None:
    """Twenty streams asked for at once, while the hub is still subscribing: the ones waiting
    for it count, so five are served and the rest refused."""
    alice = token_for("alice")
    server = web_server(EVENTBANK_LIVE_STREAMS_PER_USER="5")
    burst = []
    for _ in range(20):
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        connection.sendall(
            f"GET /api/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {alice}\r\n\r\n"
            .encode()
        )  # fmt: skip
        burst.append(connection)
    statuses = [connection.recv(12) for connection in burst]
    assert statuses.count(b"HTTP/1.1 200") == 5
    assert statuses.count(b"HTTP/1.1 429") == 15
    for connection in burst:
        connection.close()
