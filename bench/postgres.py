"""Figures 1 and 2 against PostgreSQL, beside a raw asyncpg baseline measured in the same run.

Figure 1 (PostgreSQL): the store on PostgreSQL (``PostgresEventStore`` under
``DomainRules``) taking the same 64 concurrent single-event appenders as figure 1 on SQLite,
against raw asyncpg: ``executemany`` of 100 rows per transaction into the same ``events``
table (made by the store's own migrations), one connection, the same rows. Rounds
alternate, each on a schema of its own.

Figure 2 (PostgreSQL): the served service on PostgreSQL against the bare Litestar app, as
figure 2 on SQLite, with 1 and 3 server processes (granian workers) on one database: each
process has its own writer, and they take turns under the log's advisory lock.

The server is ``BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
trust auth). Every schema the bench makes is dropped when its measurement ends. When no
server answers, the part says so and measures nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bench import served
from bench.append import (
    MAX_EVENTS_PER_WRITER,
    Step,
    drive_appenders,
    raw_batches,
    template_cases,
)
from bench.report import Figure, Target
from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.settings import Settings
from incidents.store.factory import open_store
from incidents.store.protocol import EventStore

URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
COLUMNS = (
    "position, stream_id, version, event_id, type, category, data, metadata, occurred_at,"
    " recorded_at, hash"
)


def _same(value: Any) -> Any:
    return value


def available(url: str = URL) -> bool:
    """Whether a PostgreSQL server answers at ``url``."""

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(url, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def schema_url(schema: str, url: str = URL) -> str:
    """The database URL of the log in ``schema``."""
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


async def drop_schema(schema: str, url: str = URL) -> None:
    """Drop the bench's schema and everything in it."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def fresh_schema(tag: str) -> str:
    """A schema name of this process's own."""
    return f"bench_{tag}_{os.getpid()}_{time.monotonic_ns() % 1_000_000_000}"


async def open_log(schema: str) -> EventStore:
    """The store on ``schema``, with the inline projections the service keeps."""
    return await open_store(
        schema_url(schema), DomainRules(), Settings(), projections=inline_projections()
    )


async def store_rate(schema: str, cases: list[list[Step]], writers: int, seconds: float) -> float:
    """Events per second the PostgreSQL store takes from ``writers`` appenders."""
    store = await open_log(schema)
    try:
        events, elapsed = await drive_appenders(store, cases, writers, seconds)
    finally:
        await store.close()
    return events / elapsed


async def raw_rate(schema: str, cases: list[list[Step]], batch: int, seconds: float) -> float:
    """Events per second raw asyncpg inserts, ``batch`` rows per transaction, into a table
    the store's migrations made."""
    await (await open_log(schema)).close()
    connection = await asyncpg.connect(URL)
    insert = (
        f'INSERT INTO "{schema}".events ({COLUMNS})'
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    try:
        written = 0
        started = time.perf_counter()
        stop = started + seconds
        for rows in raw_batches(cases, batch, _same, _same):
            async with connection.transaction():
                await connection.executemany(insert, rows)
            written += len(rows)
            if time.perf_counter() >= stop or written >= MAX_EVENTS_PER_WRITER:
                break
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return written / elapsed


def _measured(coroutine: Any, schema: str) -> float:
    async def run() -> float:
        try:
            rate: float = await coroutine
            return rate
        finally:
            await drop_schema(schema)

    return asyncio.run(run())


def figure_store_append(seconds: float, rounds: int, writers: int = 64) -> Figure:
    """Figure 1 on PostgreSQL: alternate raw and store rounds; the median of the ratios."""
    cases = template_cases()
    raws: list[float] = []
    stores: list[float] = []
    for round_ in range(rounds):
        schema = fresh_schema("raw")
        raws.append(_measured(raw_rate(schema, cases, 100, seconds), schema))
        schema = fresh_schema("store")
        stores.append(_measured(store_rate(schema, cases, writers, seconds), schema))
        print(
            f"    round {round_ + 1}: raw asyncpg {raws[-1]:,.0f} ev/s, store "
            f"{stores[-1]:,.0f} ev/s, ratio {stores[-1] / raws[-1]:.2f}",
            flush=True,
        )
    ratios = [s / r for s, r in zip(stores, raws, strict=True)]
    return Figure(
        key="1-pg",
        title=f"Store append on PostgreSQL: {writers} concurrent single-event appenders",
        unit="events/s",
        ours=statistics.median(stores),
        ours_label="PostgresEventStore + DomainRules, realistic events, synchronous_commit on",
        baseline=statistics.median(raws),
        baseline_label="raw asyncpg executemany, 100 events/txn, same table and rows",
        ratio=statistics.median(ratios),
        targets=[Target(">=", 0.5)],
        notes=[f"{rounds} alternating rounds of {seconds:g} s each (raw, store, ...); {URL}"],
        details={
            "rounds": [
                {"raw": r, "store": s, "ratio": s / r} for r, s in zip(raws, stores, strict=True)
            ],
            "seconds": seconds,
            "writers": writers,
            "url": URL,
        },
    )


@contextlib.contextmanager
def postgres_log(scratch: Path, workers: int) -> Iterator[str]:
    """A fresh schema for figure 2's service on PostgreSQL, dropped afterwards: its URL."""
    schema = fresh_schema(f"http{workers}")
    try:
        yield schema_url(schema)
    finally:
        asyncio.run(drop_schema(schema))


def figure_http_postgres(
    scratch: Path, seconds: float, warmup: float, workers_list: list[int]
) -> list[Figure]:
    """Figure 2 on PostgreSQL, for each number of server processes on one database."""
    return served.figure_http(
        scratch, seconds, warmup, workers_list, log=postgres_log, key="2-pg", engine="PostgreSQL"
    )
