"""Live push against real server processes: every committed position exactly once, in order,
while many writers append, across a reconnection, and over several processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServedProcess

pytestmark = pytest.mark.e2e

EVENTS = 5_000
WRITERS = 16
STREAMS_PER_REQUEST = 10
# A failsafe only: the tests wait on the events themselves.
FAILSAFE_SECONDS = 240.0
# Events committed while a subscriber does not read: well past its 16 KiB and the sockets'.
SLOW_EVENTS = 3_000


def note_append(stream_id: str) -> dict[str, object]:
    """One stream's part of ``POST /events``: the NoteSent that opens a note."""
    return {
        "stream_id": stream_id,
        "events": [
            {
                "type": "NoteSent",
                "data": {
                    "from": {"state": "AZ"},
                    "to": {"state": "FR"},
                    "subject": "security of the embassy",
                },
                "occurred_at": "2022-09-19T10:00:00Z",
            }
        ],
    }


async def write_notes(bases: list[str], events: int, auth: dict[str, str]) -> None:
    """``WRITERS`` concurrent clients append ``events`` NoteSent events, ten streams a
    request, writer i through server ``bases[i % len(bases)]``, with the token in ``auth``."""
    run = uuid.uuid4().hex[:8]
    requests = iter(range(events // STREAMS_PER_REQUEST))

    async def writer(index: int) -> None:
        async with httpx.AsyncClient(
            base_url=bases[index % len(bases)], headers=auth, timeout=60
        ) as client:
            for number in requests:
                appends = [
                    note_append(f"note-live-{run}-{number}-{k}") for k in range(STREAMS_PER_REQUEST)
                ]
                response = await client.post("/events", json={"appends": appends})
                assert response.status_code == 201, response.text

    await asyncio.gather(*(writer(i) for i in range(WRITERS)))


class Subscriber(threading.Thread):
    """Follows ``/events/live?after=0`` until it has seen position ``last``.

    With ``drop_after`` it closes its connection once it has that many events (as a killed
    client would) and reconnects to the same URL with ``Last-Event-ID``, as EventSource does.
    """

    def __init__(
        self, base: str, last: int, auth: dict[str, str], drop_after: int | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.auth = auth
        self.last = last
        self.drop_after = drop_after
        self.positions: list[int] = []
        self.connections = 0
        self.connected = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.positions or self.positions[-1] < self.last:
                self._follow()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def _follow(self) -> None:
        headers = {"Accept": "text/event-stream", **self.auth}
        if self.positions:
            headers["Last-Event-ID"] = str(self.positions[-1])
        timeout = httpx.Timeout(30, read=FAILSAFE_SECONDS)
        with httpx.stream(
            "GET", f"{self.base}/events/live?after=0", headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            self.connections += 1
            for fields in sse_events(response.iter_lines()):
                if "retry" in fields:
                    self.connected.set()
                if "data" not in fields:
                    continue
                assert "event" not in fields, fields
                position = int(fields["id"])
                assert json.loads(fields["data"])["position"] == position
                self.positions.append(position)
                if position >= self.last:
                    return
                if self.drop_after is not None and len(self.positions) == self.drop_after:
                    return


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """The fields of each event of a text/event-stream (comments left out)."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def follow_while_writing(
    subscriber_base: str, writer_bases: list[str], auth: dict[str, str]
) -> None:
    """Two subscribers on one server (one dropped midway) while writers append ``EVENTS``."""
    steady = Subscriber(subscriber_base, EVENTS, auth)
    dropped = Subscriber(subscriber_base, EVENTS, auth, drop_after=EVENTS // 2)
    for subscriber in (steady, dropped):
        subscriber.start()
        assert subscriber.connected.wait(FAILSAFE_SECONDS)
    asyncio.run(write_notes(writer_bases, EVENTS, auth))
    for subscriber in (steady, dropped):
        subscriber.join(FAILSAFE_SECONDS)
        assert not subscriber.is_alive(), "subscriber did not see the last position"
        assert subscriber.error is None, subscriber.error
        assert subscriber.positions == list(range(1, EVENTS + 1))
    assert dropped.connections == 2


def test_sqlite_subscribers_see_every_position_once_in_order(tmp_path: Path) -> None:
    # Given a served SQLite log and subscribers following it from position 0
    server = ServedProcess(tmp_path / "live.db")
    try:
        base = server.start()
        # when 16 writers append 5,000 events, then each subscriber, one of them killed
        # midway and reconnected with Last-Event-ID, receives every position once, in order
        follow_while_writing(base, [base], server.headers)
    finally:
        server.stop()


def test_postgres_three_servers_one_log(tmp_path: Path) -> None:
    from tests.integration.test_store_postgres import URL, drop_schemas, server_answers

    if not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"test_live_{uuid.uuid4().hex[:12]}"
    url = f"{URL}?schema={schema}"
    # Given three server processes on one PostgreSQL log
    servers = [ServedProcess(tmp_path / f"pg{i}.db", url=url) for i in range(3)]
    try:
        with ThreadPoolExecutor(len(servers)) as starting:
            bases = list(starting.map(ServedProcess.start, servers))
        # when writers spread over all three append, a subscriber on the first sees every
        # commit, made through whichever process, once and in order
        follow_while_writing(bases[0], bases, servers[0].headers)
    finally:
        for server in servers:
            server.stop()
        asyncio.run(drop_schemas(schema))


class SmallWindowConnection(http.client.HTTPConnection):
    """A client connection with a tiny receive buffer, so a client that stops reading makes
    the server's sends wait soon rather than after megabytes of kernel buffers."""

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(FAILSAFE_SECONDS)
        self.sock.connect((self.host, self.port))


def test_a_subscriber_that_falls_behind_is_cut_off_with_where_to_resume(tmp_path: Path) -> None:
    # Given a server that lets a subscriber fall at most 16 KiB behind
    server = ServedProcess(tmp_path / "slow.db", env={"INCIDENTS_LIVE_BUFFER_BYTES": "16384"})
    try:
        base = server.start()
        # and a subscriber that connects, then stops reading
        stalled = SmallWindowConnection("127.0.0.1", server.port)
        stalled.request("GET", "/events/live", headers={"Connection": "close", **server.headers})
        response = stalled.getresponse()
        assert response.status == 200
        assert response.readline().startswith(b":")
        # when far more than that is committed
        asyncio.run(write_notes([base], SLOW_EVENTS, server.headers))
        # then, reading again, it finds events from position 1 on, then the cut-off event
        # naming the last of them as the place to resume, and the stream ends
        lines = (line.decode().rstrip("\r\n") for line in iter(response.readline, b""))
        events = list(sse_events(lines))
        stalled.close()
        last = events[-1]
        assert last["event"] == "cut-off", last
        cut_off = json.loads(last["data"])
        assert cut_off["reason"] == "too-slow"
        sent = [int(e["id"]) for e in events[:-1] if "data" in e]
        assert sent == list(range(1, len(sent) + 1))
        assert len(sent) < SLOW_EVENTS
        assert cut_off["resume_after"] == int(last["id"]) == (sent[-1] if sent else 0)
        # and resuming after it gives the next position
        with httpx.stream(
            "GET",
            f"{base}/events/live",
            headers={"Last-Event-ID": last["id"], **server.headers},
            timeout=30,
        ) as resumed:
            first = next(e for e in sse_events(resumed.iter_lines()) if "data" in e)
            assert int(first["id"]) == cut_off["resume_after"] + 1
    finally:
        server.stop()
