"""Crash rounds: a served process killed with SIGKILL under load loses no acknowledged event.

Each round starts ``incidents serve`` on the same SQLite file, posts events from concurrent
clients (each with its own event id), records every id the server acknowledged (201), kills
the whole process group at a random moment, and then checks the file: every acknowledged
event is there, positions are gap-free, the hash chain holds and replay finds the live
states equal to the log's. ``CRASH_ROUNDS`` sets the rounds (a short smoke in ``make
test``; ``make crash`` runs many). SIGKILL leaves the operating system running, so this
shows that acknowledged means committed, not what a power cut would do to the disk.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from pathlib import Path

import httpx
import pytest

from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.replay import replay
from incidents.store.chain import verify_log
from incidents.store.factory import open_store
from tests.conftest import FAILSAFE_SECONDS
from tests.e2e.conftest import ServedProcess, note_sent

pytestmark = pytest.mark.e2e

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "2"))
CLIENTS = 16


async def _post_until_killed(
    server: ServedProcess,
    acknowledged: set[str],
    stop: asyncio.Event,
    flowing: asyncio.Event,
    target: int,
) -> None:
    """Post single-event appends until ``stop``; remember each id the server acknowledged,
    and say when ``target`` of them are."""
    async with httpx.AsyncClient(
        base_url=server.base, headers=server.headers, timeout=FAILSAFE_SECONDS
    ) as client:
        while not stop.is_set():
            event_id = str(uuid.uuid4())
            try:
                response = await client.post(
                    f"/streams/note-{uuid.uuid4().hex[:16]}/events", json=note_sent(event_id)
                )
            except httpx.TransportError:
                return  # the server is gone
            if response.status_code == 201:
                acknowledged.add(event_id)
                if len(acknowledged) >= target:
                    flowing.set()
            else:
                assert response.status_code == 503, response.text


async def _round(server: ServedProcess, acknowledged: set[str], rng: random.Random) -> None:
    server.start()
    stop, flowing = asyncio.Event(), asyncio.Event()
    target = len(acknowledged) + 20
    clients = [
        asyncio.create_task(_post_until_killed(server, acknowledged, stop, flowing, target))
        for _ in range(CLIENTS)
    ]
    # Kill only once appends are flowing (a loaded machine may be slow to start them),
    # then at a random moment while they go on.
    await asyncio.wait_for(flowing.wait(), timeout=FAILSAFE_SECONDS)
    await asyncio.sleep(rng.uniform(0.0, 1.0))
    await asyncio.to_thread(server.kill)
    stop.set()
    await asyncio.gather(*clients)


async def _check(database: Path, acknowledged: set[str]) -> int:
    store = await open_store(
        f"sqlite:///{database}", DomainRules(), projections=inline_projections()
    )
    try:
        stored: set[str] = set()
        positions: list[int] = []
        after = 0
        while page := await store.read_all(after=after, limit=5000):
            stored.update(str(event.event_id) for event in page)
            positions.extend(event.position for event in page)
            after = page[-1].position
        assert acknowledged <= stored, f"lost {len(acknowledged - stored)} acknowledged events"
        assert positions == list(range(1, len(positions) + 1))
        report = await verify_log(store)
        assert report.broken is None, report.broken
        replayed = await replay(store, DomainRules())
        assert replayed.differences == []
        return len(positions)
    finally:
        await store.close()


async def test_no_acknowledged_event_is_lost_when_the_server_is_killed(tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    server = ServedProcess(database)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acknowledged: set[str] = set()
    try:
        for _ in range(ROUNDS):
            await _round(server, acknowledged, rng)
            stored = await _check(database, acknowledged)
            assert stored >= len(acknowledged)
    finally:
        server.stop()
    assert acknowledged, "no append was acknowledged before the kills"
