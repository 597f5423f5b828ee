"""Figure 1 and the chart: durable single-event appends against raw sqlite3 and eventsourcing.

*Ours*: ``writers`` asyncio tasks in one process, each appending one event at a time to the
SQLite store (``SqliteEventStore`` under ``DomainRules``, WAL, synchronous=FULL), walking
through realistic cases (a note sent, acknowledged, answered; an incident, the police, the
protest and its demands...) whose bodies were encoded once by ``encode_data``, the
service's canonical encoder. Only fresh event ids and envelopes are made in the timed loop.

*Raw sqlite3*: the same rows (same stream ids, types, data, metadata, times) inserted with
``executemany`` into a file with the store's own schema (its migrations), ``batch`` rows per
``BEGIN IMMEDIATE ... COMMIT``, WAL and synchronous=FULL; no hash, no rules, no stream
states: the floor of a durable insert of these rows.

*eventsourcing*: ``writers`` threads, each walking the same cases, one aggregate per stream
kept in memory, one ``save`` (one durable transaction) per event.

Each measurement runs for a fixed time and a bounded number of events.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from bench.es_app import Stream, open_application, run_threads
from bench.report import Figure, Target
from bench.world import META, CaseMaker, encoded, make_missions
from incidents.domain.events import Correction
from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.store.ids import new_event_id
from incidents.store.plan import format_time
from incidents.store.protocol import EventStore, ProposedEvent, category_of
from incidents.store.sqlite import SqliteEventStore, apply_migrations

INSERT = (
    "INSERT INTO events (position, stream_id, version, event_id, type, category, data,"
    " metadata, occurred_at, recorded_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Each appender stops after this many events even if its time is not up.
MAX_EVENTS_PER_WRITER = 1_000_000


@dataclass(frozen=True)
class Step:
    """One event of a template case: its stream, type, canonical data and time."""

    stream_id: str
    type: str
    data: bytes
    occurred_at: datetime

    @property
    def payload(self) -> dict[str, Any]:
        """The data as a dict, for the eventsourcing aggregates."""
        decoded: dict[str, Any] = msgspec.json.decode(self.data)
        return decoded


def template_cases(count: int = 600, seed: int = 11) -> list[list[Step]]:
    """Realistic cases, each a list of steps in the order they happen (one stream or more).

    Corrections are left out: they name their target's event id, which is new each time a
    case is walked.
    """
    import random

    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=800)
    maker = CaseMaker(rng, make_missions(40, rng, start))
    cases = []
    for index in range(count):
        planned = sorted(maker.case(start + timedelta(hours=index)), key=lambda p: p.at)
        steps = []
        for event in planned:
            if isinstance(event.data, Correction):
                continue  # it names its target's event id, which each walk makes afresh
            proposed = encoded(event)
            steps.append(Step(event.stream_id, proposed.type, proposed.data, event.at))
        cases.append(steps)
    return cases


class Walk:
    """An appender's path through the template cases: every stream renamed fresh each time."""

    def __init__(self, cases: list[list[Step]], writer: int, writers: int) -> None:
        self._cases = cases
        self._writer = writer
        self._writers = writers
        self._round = 0

    def __iter__(self) -> Walk:
        return self

    def __next__(self) -> list[tuple[str, Step]]:
        index = self._writer + self._round * self._writers
        self._round += 1
        case = self._cases[index % len(self._cases)]
        suffix = f"-w{self._writer}n{self._round}"
        return [(step.stream_id + suffix, step) for step in case]


# --- ours -----------------------------------------------------------------------------------


def count_batches(store: SqliteEventStore) -> Callable[[], tuple[int, int]] | None:
    """Count the writer's transactions and the appends they took, where the store lets us.

    Wraps the writer's ``write`` (a private part of the store); returns None, and the
    callers fall back to an estimate, if the store no longer has it.
    """
    writer = getattr(store, "_writer", None)
    write = getattr(writer, "write", None)
    if writer is None or write is None:
        return None
    counts = [0, 0]

    def counting(units: Any) -> Any:
        counts[0] += 1
        counts[1] += len(units)
        return write(units)

    try:
        writer.write = counting
    except AttributeError:
        return None
    return lambda: (counts[0], counts[1])


@dataclass
class StoreRun:
    """Events per second the store took, and how it batched them."""

    rate: float
    events: int
    transactions: int | None
    appends: int | None

    @property
    def batch(self) -> float | None:
        """Appends per transaction, when counted."""
        if not self.transactions or self.appends is None:
            return None
        return self.appends / self.transactions


async def drive_appenders(
    store: EventStore, cases: list[list[Step]], writers: int, seconds: float
) -> tuple[int, float]:
    """``writers`` concurrent single-event appenders walking the cases for ``seconds``:
    the events they got stored and the seconds it took."""
    counts = [0] * writers
    stop = time.perf_counter() + seconds

    async def appender(index: int) -> None:
        done = 0
        for case in Walk(cases, index, writers):
            for stream_id, step in case:
                event = ProposedEvent(new_event_id(), step.type, step.data, META, step.occurred_at)
                await store.append(stream_id, [event])
                done += 1
            counts[index] = done
            if time.perf_counter() >= stop or done >= MAX_EVENTS_PER_WRITER:
                return

    started = time.perf_counter()
    await asyncio.gather(*(appender(i) for i in range(writers)))
    return sum(counts), time.perf_counter() - started


async def store_rate(path: Path, cases: list[list[Step]], writers: int, seconds: float) -> StoreRun:
    """Events per second that ``writers`` concurrent single-event appenders get stored."""
    store = await SqliteEventStore.open(str(path), DomainRules(), projections=inline_projections())
    counted = count_batches(store)
    try:
        events, elapsed = await drive_appenders(store, cases, writers, seconds)
    finally:
        await store.close()
    transactions, appends = counted() if counted else (None, None)
    return StoreRun(events / elapsed, events, transactions, appends)


# --- raw sqlite3 ----------------------------------------------------------------------------


def raw_batches(
    cases: list[list[Step]],
    batch: int,
    time_of: Callable[[datetime], Any] = format_time,
    event_id_of: Callable[[UUID], Any] = str,
) -> Iterator[list[tuple[object, ...]]]:
    """The events rows of the walked cases, ``batch`` at a time (positions, versions, fresh
    ids; times and ids as ``time_of`` and ``event_id_of`` give them to the driver)."""
    versions: dict[str, int] = {}
    position = 0
    walk = Walk(cases, 0, 1)
    pending: list[tuple[str, Step]] = []
    while position < MAX_EVENTS_PER_WRITER:
        rows: list[tuple[object, ...]] = []
        recorded = time_of(datetime.now(UTC))
        while len(rows) < batch:
            if not pending:
                pending = next(walk)[::-1]
            stream_id, step = pending.pop()
            position += 1
            version = versions.get(stream_id, 0) + 1
            versions[stream_id] = version
            rows.append(
                (
                    position,
                    stream_id,
                    version,
                    event_id_of(new_event_id()),
                    step.type,
                    category_of(stream_id),
                    step.data,
                    META,
                    time_of(step.occurred_at),
                    recorded,
                    "0" * 64,
                )
            )
        yield rows


def raw_rate(path: Path, cases: list[list[Step]], batch: int, seconds: float) -> float:
    """Events per second plain sqlite3 inserts, ``batch`` rows per durable transaction."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        apply_migrations(connection)
        written = 0
        started = time.perf_counter()
        stop = started + seconds
        for rows in raw_batches(cases, batch):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(INSERT, rows)
            connection.execute("COMMIT")
            written += len(rows)
            if time.perf_counter() >= stop:
                break
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return written / elapsed


# --- eventsourcing --------------------------------------------------------------------------


def es_rate(path: Path, cases: list[list[Step]], writers: int, seconds: float) -> float:
    """Events per second the eventsourcing library saves from ``writers`` threads."""
    app = open_application(path)
    payloads = {id(step): step.payload for case in cases for step in case}
    counts = [0] * writers
    stop = time.perf_counter() + seconds

    def appender(index: int) -> None:
        done = 0
        for case in Walk(cases, index, writers):
            aggregates: dict[str, Stream] = {}
            for stream_id, step in case:
                payload = payloads[id(step)]
                aggregate = aggregates.get(stream_id)
                if aggregate is None:
                    aggregate = aggregates[stream_id] = Stream(step.type, payload)
                else:
                    aggregate.record(step.type, payload)
                app.save(aggregate)
                done += 1
            counts[index] = done
            if time.perf_counter() >= stop or done >= MAX_EVENTS_PER_WRITER:
                return

    elapsed = run_threads(appender, writers)
    app.close()
    return sum(counts) / elapsed


# --- figure 1 and the sweep -----------------------------------------------------------------


def figure_store_append(scratch: Path, seconds: float, rounds: int, writers: int = 64) -> Figure:
    """Figure 1: alternate raw and store rounds; the median of the per-round ratios."""
    cases = template_cases()
    raws: list[float] = []
    stores: list[StoreRun] = []
    for round_ in range(rounds):
        raws.append(raw_rate(scratch / f"fig1-raw-{round_}.db", cases, 100, seconds))
        stores.append(
            asyncio.run(store_rate(scratch / f"fig1-store-{round_}.db", cases, writers, seconds))
        )
        print(
            f"    round {round_ + 1}: raw {raws[-1]:,.0f} ev/s, store {stores[-1].rate:,.0f} "
            f"ev/s, ratio {stores[-1].rate / raws[-1]:.2f}",
            flush=True,
        )
    ratios = [s.rate / r for s, r in zip(stores, raws, strict=True)]
    batches = [s.batch for s in stores if s.batch is not None]
    notes = [f"{rounds} alternating rounds of {seconds:g} s each (raw, store, ...)"]
    if batches:
        notes.append(f"the store's group commit took {statistics.mean(batches):.1f} appends a txn")
    return Figure(
        key="1",
        title=f"Store append, durable: {writers} concurrent single-event appenders",
        unit="events/s",
        ours=statistics.median(s.rate for s in stores),
        ours_label="SqliteEventStore + DomainRules, realistic events, WAL + synchronous=FULL",
        baseline=statistics.median(raws),
        baseline_label="raw sqlite3 executemany, 100 events/txn, same schema and rows",
        ratio=statistics.median(ratios),
        targets=[Target(">=", 0.5)],
        notes=notes,
        details={
            "rounds": [
                {"raw": r, "store": s.rate, "ratio": s.rate / r, "batch": s.batch}
                for r, s in zip(raws, stores, strict=True)
            ],
            "seconds": seconds,
            "writers": writers,
        },
    )


def sweep(scratch: Path, levels: list[int], seconds: float) -> dict[str, Any]:
    """Throughput against concurrency for the store, raw sqlite3 and eventsourcing.

    Raw sqlite3 at each level inserts as many rows per transaction as the store's group
    commit took at that level (counted; the concurrency itself where it cannot be counted).
    """
    cases = template_cases()
    series: dict[str, list[float]] = {"store": [], "raw": [], "eventsourcing": []}
    batches: list[float] = []
    for level in levels:
        run = asyncio.run(store_rate(scratch / f"sweep-store-{level}.db", cases, level, seconds))
        batch = run.batch if run.batch is not None else float(level)
        raw = raw_rate(scratch / f"sweep-raw-{level}.db", cases, max(1, round(batch)), seconds)
        es = es_rate(scratch / f"sweep-es-{level}.db", cases, level, seconds)
        series["store"].append(run.rate)
        series["raw"].append(raw)
        series["eventsourcing"].append(es)
        batches.append(batch)
        print(
            f"    {level:>4} appenders: store {run.rate:,.0f} ev/s (batch {batch:.1f}), "
            f"raw at that batch {raw:,.0f} ev/s, eventsourcing {es:,.0f} ev/s",
            flush=True,
        )
        for path in scratch.glob("sweep-*"):
            path.unlink()
    return {"levels": levels, "series": series, "batches": batches, "seconds": seconds}
