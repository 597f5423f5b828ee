"""A request never waits longer than the busy timeout before its 503: while a lock is held
by another connection (SQLite) or session (PostgreSQL), appends sent one after another to a
served process each get a 503 with Retry-After within that bound (a client whose timeout is
the bound and some slack gets its answer), and once the lock is released the next append
is stored. Reads, which only an exclusive table lock stops (PostgreSQL), are answered the
same way; ``/ready`` says not ready then, while ``/health`` (liveness) answers 200."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from incidents.store.factory import postgres_schema, sqlite_path
from incidents.store.postgres import _lock_key
from tests.e2e.conftest import ServedProcess
from tests.integration.conftest import POSTGRES_URL, fresh_log

pytestmark = pytest.mark.e2e

# The bound the server is given (INCIDENTS_BUSY_TIMEOUT), and the slack of the clients'
# timeout beyond it: less than another BUSY, so an append that waits twice the bound times
# out instead of getting its 503.
BUSY = 2.0
SLACK = 1.5
# When each append is sent after the lock is taken (seconds): the later ones arrive while
# the first waits for the lock.
LATE = (0.0, 0.5, 1.0, 1.5)

NOTE = {
    "events": [
        {
            "type": "NoteSent",
            "data": {"from": {"state": "AZ"}, "to": {"state": "FR"}, "subject": "security"},
        }
    ]
}


@asynccontextmanager
async def sqlite_writer_lock(url: str) -> AsyncIterator[None]:
    """Another connection holding the file's write lock (``BEGIN IMMEDIATE``)."""
    holder = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@asynccontextmanager
async def postgres_lock(url: str, statement: Callable[[str], str]) -> AsyncIterator[None]:
    """Another session holding a lock (``statement`` of the schema) in an open transaction."""
    _, schema = postgres_schema(url)
    holder = await asyncpg.connect(POSTGRES_URL)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(statement(schema or "public"))
        yield
        await transaction.rollback()
    finally:
        await holder.close()


def another_writer(url: str) -> AbstractAsyncContextManager[None]:
    """Another server's writer, stuck inside its batch: it holds the append lock."""
    return postgres_lock(url, lambda s: f"SELECT pg_advisory_xact_lock({_lock_key('append', s)})")


def an_admin_table_lock(url: str) -> AbstractAsyncContextManager[None]:
    """An administrator's session locking the events table against writes."""
    return postgres_lock(url, lambda s: f'LOCK TABLE "{s}".events IN EXCLUSIVE MODE')


LOCKS: dict[str, Callable[[str], AbstractAsyncContextManager[None]]] = {
    "sqlite-write-lock": sqlite_writer_lock,
    "postgres-append-lock": another_writer,
    "postgres-table-lock": an_admin_table_lock,
}


async def append_late(client: httpx.AsyncClient, delay: float, stream: str) -> httpx.Response:
    await asyncio.sleep(delay)
    return await client.post(f"/streams/{stream}/events", json=NOTE)


@pytest.mark.parametrize(
    "lock",
    [
        "sqlite-write-lock",
        pytest.param("postgres-append-lock", marks=pytest.mark.postgres),
        pytest.param("postgres-table-lock", marks=pytest.mark.postgres),
    ],
)
async def test_a_held_lock_gets_each_append_a_503_within_the_busy_timeout(
    lock: str, tmp_path: Path
) -> None:
    engine = "sqlite" if lock.startswith("sqlite") else "postgresql"
    async with fresh_log(engine, tmp_path) as url:
        served = ServedProcess(
            tmp_path / "http.db", url=url, env={"INCIDENTS_BUSY_TIMEOUT": str(BUSY)}
        )
        with served.running():
            async with httpx.AsyncClient(
                base_url=served.base, headers=served.headers, timeout=BUSY + SLACK
            ) as client:
                first = await client.post("/streams/note-a/events", json=NOTE)
                assert first.status_code == 201, first.text

                async with LOCKS[lock](url):
                    refused = await asyncio.gather(
                        *(
                            append_late(client, delay, f"note-late-{index}")
                            for index, delay in enumerate(LATE)
                        )
                    )
                for response in refused:
                    assert response.status_code == 503, response.text
                    assert response.headers["content-type"].startswith("application/problem+json")
                    assert int(response.headers["retry-after"]) >= 1

                stored = await client.post("/streams/note-b/events", json=NOTE)
                assert stored.status_code == 201, stored.text
                log = (await client.get("/events")).json()
        # Nothing refused was stored.
        assert [event["stream_id"] for event in log["events"]] == ["note-a", "note-b"]


@pytest.mark.postgres
async def test_reads_under_an_exclusive_table_lock_get_a_503_within_the_busy_timeout(
    tmp_path: Path,
) -> None:
    # Reads wait for PostgreSQL's ACCESS EXCLUSIVE lock (a VACUUM FULL, an ALTER TABLE).
    async with fresh_log("postgresql", tmp_path) as url:
        served = ServedProcess(
            tmp_path / "http.db", url=url, env={"INCIDENTS_BUSY_TIMEOUT": str(BUSY)}
        )
        reads = ("/events", "/projections/missions", "/projections/unanswered-notes", "/ready")
        with served.running():
            async with httpx.AsyncClient(
                base_url=served.base, headers=served.headers, timeout=BUSY + SLACK
            ) as client:
                assert (await client.post("/streams/note-a/events", json=NOTE)).status_code == 201
                for path in reads:
                    assert (await client.get(path)).status_code == 200, path
                exclusive = postgres_lock(
                    url, lambda s: f'LOCK TABLE "{s}".events IN ACCESS EXCLUSIVE MODE'
                )
                head = (await client.get("/health")).json()
                async with exclusive:
                    refused = [await client.get(path) for path in reads]
                    # Liveness: the process serves, with the head it last read.
                    alive = await client.get("/health")
                for path, response in zip(reads[:-1], refused[:-1], strict=True):
                    assert response.status_code == 503, (path, response.text)
                    assert int(response.headers["retry-after"]) >= 1
                assert refused[-1].status_code == 503, refused[-1].text
                assert refused[-1].json()["database"]["ok"] is False
                assert alive.status_code == 200, alive.text
                assert alive.json() == head
                for path in reads:
                    assert (await client.get(path)).status_code == 200, path
