"""Probe: the event loop's CPU per append, calling the ASGI app in-process (no server).

``python -m bench.probes.asgi_cost [REQUESTS] [CONNECTIONS] [--profile OUT] [--stub]``, run
from the checkout to measure (``-m`` puts the working directory first on the path), runs the
service (on a fresh SQLite file, the real store and its writer thread) and the bare app of
figure 2 under uvloop, each driven by CONNECTIONS tasks posting figure 2's body in turn
through the raw ASGI interface, and prints requests/s and the CPU microseconds per request
of the loop's thread and of the process (the writer included). Without granian and wrk
sharing the cores, the loop's own cost per request shows with less noise than figure 2's.
``--profile`` writes a cProfile of the service's run (the loop's thread only). ``--stub``
puts a store that answers every append at once (after one turn of the loop) in the
service's place, so the loop's cost of the HTTP layer and the service shows alone.
"""

from __future__ import annotations

import asyncio
import cProfile
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from statistics import median
from typing import Any

import uvloop
from litestar import Litestar

from bench.bare_app import app_factory as bare_factory
from bench.served import mission_body, note_body
from incidents.http.app import create_app
from incidents.settings import Settings
from incidents.store.protocol import AppendedEvent, AppendResult, ExpectedVersion, ProposedEvent

Message = MutableMapping[str, Any]


class Lifespan:
    """An app's lifespan driven as a server drives it: startup, then shutdown."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _event(self, event: str) -> None:
        await self.inbox.put({"type": f"lifespan.{event}"})
        answer = await self.outbox.get()
        if answer["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(answer)

    async def start(self) -> None:
        """Run the app's startup (the store opens)."""

        async def send(message: Message) -> None:
            await self.outbox.put(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, send))  # type: ignore[arg-type]
        await self._event("startup")

    async def stop(self) -> None:
        """Run the app's shutdown (the store closes)."""
        await self._event("shutdown")
        if self.task is not None:
            await self.task


async def post(
    app: Callable[..., Awaitable[None]],
    path: str,
    body: bytes,
    state: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> int:
    """One POST through the ASGI interface, as granian calls the app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "state": dict(state),
    }
    received = False
    status = 0

    async def receive() -> Message:
        nonlocal received
        if received:
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def writer_headers(app: Litestar) -> list[tuple[bytes, bytes]]:
    """An ``Authorization`` header with a new writer token where the app checks tokens (none
    for a revision without them), so both sides of an A/B run post the same appends."""
    tokens = getattr(app.state, "tokens", None)
    if tokens is None:
        return []
    issued = await tokens.create("writer", "bench")
    return [(b"authorization", f"Bearer {issued.token}".encode())]


async def drive(
    app: Litestar,
    requests: int,
    connections: int,
    tag: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> tuple[float, float]:
    """Post ``requests`` appends from ``connections`` tasks; (requests/s, loop CPU us/req)."""
    body = note_body()
    counter = iter(range(requests))
    statuses: dict[int, int] = {}

    async def connection() -> None:
        for n in counter:
            status = await post(app, f"/streams/note-{tag}-{n}/events", body, {}, headers)
            statuses[status] = statuses.get(status, 0) + 1

    start, cpu = time.perf_counter(), time.thread_time()
    await asyncio.gather(*(connection() for _ in range(connections)))
    wall, used = time.perf_counter() - start, time.thread_time() - cpu
    if set(statuses) != {201}:
        raise RuntimeError(f"statuses {statuses}")
    return requests / wall, used * 1e6 / requests


class StubStore:
    """Answers appends at once with made-up positions; everything else goes to ``store``."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.position = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def append(
        self, stream_id: str, events: list[ProposedEvent], expected: ExpectedVersion = "any"
    ) -> AppendResult:
        await asyncio.sleep(0)
        appended = []
        for version, event in enumerate(events, 1):
            self.position += 1
            appended.append(AppendedEvent(event.event_id, self.position, version))
        return AppendResult(stream_id, len(events), appended)


async def measure(requests: int, connections: int, profile: str | None, stub: bool) -> None:
    """Drive the service and the bare app in turns and print their rates and CPU per request."""
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{directory}/log.db")
        # The bare app first: each app sets up logging as it is built, and the service's
        # access log must be measured as the service writes it.
        bare = bare_factory()
        ours = create_app(settings)
        running = Lifespan(ours)
        await running.start()
        auth = await writer_headers(ours)
        # The mission the notes name, stored before any stub takes the store's place.
        mission, registration = mission_body()
        await post(ours, f"/streams/{mission}/events", registration, {}, auth)
        if stub:
            ours.state.service.store = StubStore(ours.state.service.store)
        try:
            await drive(ours, 2000, connections, "warm", auth)
            await drive(bare, 2000, connections, "warm")
            measured: dict[str, list[tuple[float, float, float]]] = {"bare": [], "ours": []}
            for round_ in range(5):
                for label, app, headers in (("bare", bare, []), ("ours", ours, auth)):
                    process = time.process_time()
                    rate, loop_us = await drive(app, requests, connections, f"r{round_}", headers)
                    process_us = (time.process_time() - process) * 1e6 / requests
                    measured[label].append((rate, loop_us, process_us))
            print(
                " | ".join(
                    f"{label} {median(r[0] for r in runs):6,.0f} req/s loop "
                    f"{median(r[1] for r in runs):5.1f} process {median(r[2] for r in runs):5.1f}"
                    " us/req"
                    for label, runs in measured.items()
                ),
                flush=True,
            )
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await drive(ours, requests, connections, "profile", auth)
                profiler.disable()
                profiler.dump_stats(profile)
        finally:
            await running.stop()


def main() -> None:
    """Parse the command line (see the module) and run the measurement under uvloop."""
    args = sys.argv[1:]
    profile = None
    stub = "--stub" in args
    if stub:
        args.remove("--stub")
    if "--profile" in args:
        at = args.index("--profile")
        profile = args[at + 1]
        del args[at : at + 2]
    requests = int(args[0]) if args else 10_000
    connections = int(args[1]) if len(args) > 1 else 64
    uvloop.run(measure(requests, connections, profile, stub))


if __name__ == "__main__":
    main()
