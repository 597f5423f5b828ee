"""SQLite's way to fold every stream again (``SqliteEventStore.fold_streams``): read the file
itself, only the columns a fold reads, in ranges of stream ids.

From :data:`PARALLEL_MIN_EVENTS` events on, the stream ids are cut into ranges of about equal
events, one per worker process; each folds its range and compares it with the live rows,
both read in one read transaction, and the reports merge in range order, so the result is
what one process gives. Below that one range is folded in a thread of this process.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from uuid import UUID

import msgspec

from incidents.store.folding import (
    FoldOptions,
    FoldReport,
    StreamFolder,
    difference,
    merge_counts,
)
from incidents.store.protocol import RuleViolation
from incidents.store.stored_states import learn, unpack

PARALLEL_MIN_EVENTS = 100_000
"""Below this many events one process folds the file (starting workers costs more)."""

_STREAM_AT = (
    "SELECT stream_id FROM events WHERE stream_id > ? ORDER BY stream_id, version LIMIT 1 OFFSET ?"
)
_EVENTS = (
    "SELECT stream_id, version, event_id, type, data, occurred_at FROM events"
    " WHERE stream_id >= ?{upper} ORDER BY stream_id, version"
)
_STREAMS = (
    "SELECT stream_id, state, mission, is_open FROM streams"
    " WHERE stream_id >= ?{upper} ORDER BY stream_id"
)
_FETCH = 10_000


class LightEvent(msgspec.Struct, frozen=True, gc=False):
    """One event as a fold reads it: a light row instead of a RecordedEvent."""

    version: int
    event_id: UUID
    type: str
    data: msgspec.Raw
    occurred_at: datetime


_uuid = functools.partial(msgspec.convert, type=UUID)
_time = datetime.fromisoformat

_Row = tuple[str, int, UUID, str, bytes, datetime]
_ROWS = list[_Row]


def _typed(rows: list[tuple[str, int, str, str, bytes, str]]) -> list[_Row]:
    """A page of event rows with ids as UUIDs and times as datetimes.

    msgspec converts a whole page in one call, several times faster than row by row; a
    page it will not take is converted as the store's read path converts each row.
    """
    try:
        return msgspec.convert(rows, _ROWS)
    except msgspec.ValidationError:
        return [(s, v, _uuid(e), t, d, _time(o)) for s, v, e, t, d, o in rows]


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA query_only = ON")
    return connection


def boundaries(path: str, events: int, ranges: int) -> list[str]:
    """Stream ids that cut the log into ``ranges`` runs of about equal events.

    Each boundary is the first stream of its range, so no stream is cut in two.
    """
    if ranges <= 1 or events <= ranges:
        return []
    step = events // ranges
    found: list[str] = []
    connection = _connect(path)
    try:
        after = ""
        for _ in range(ranges - 1):
            row = connection.execute(_STREAM_AT, (after, step if found else step - 1)).fetchone()
            if row is None:
                break
            found.append(row[0])
            after = row[0]
    finally:
        connection.close()
    # A stream longer than a step would give the same boundary twice.
    return sorted(set(found) - {""})


def fold_range(
    path: str,
    folder: StreamFolder,
    lower: str,
    upper: str | None,
    keep: bool,
    progress: Callable[[int], None] | None = None,
) -> FoldReport:
    """Fold every stream whose id is in [lower, upper) and compare it with its live row."""
    bound = "" if upper is None else " AND stream_id < ?"
    parameters: tuple[str, ...] = (lower,) if upper is None else (lower, upper)
    fold = folder.fold
    report = FoldReport(0, 0, [], [], {})
    differences = report.differences
    connection = _connect(path)
    try:
        connection.execute("BEGIN")  # both tables as of one moment
        # The dictionaries the states are packed with (all of them: the first frame made
        # with a new one may be in range).
        learn(connection.execute("SELECT dictionary_id, dictionary FROM state_dictionaries"))
        live = connection.execute(_STREAMS.format(upper=bound), parameters)
        live_rows: list[tuple[str, bytes, str | None, int]] = []
        live_index = 0
        live_done = False

        def next_live() -> tuple[str, bytes, str | None, int] | None:
            nonlocal live_rows, live_index, live_done
            if live_index == len(live_rows):
                if live_done:
                    return None
                live_rows = live.fetchmany(_FETCH)
                live_index = 0
                if not live_rows:
                    live_done = True
                    return None
            return live_rows[live_index]

        def compare(stream_id: str, events: list[LightEvent]) -> None:
            nonlocal live_index
            snapshot = fold(stream_id, events)
            report.streams += 1
            folder.count(report.counts, stream_id, snapshot)
            row = next_live()
            if row is None or row[0] != stream_id:
                key = stream_id.encode()
                while (row := next_live()) is not None and row[0].encode() < key:
                    differences.append((row[0], "no events in the log"))
                    live_index += 1
                if row is None or row[0] != stream_id:
                    report.missing.append(stream_id)
                    if keep:
                        report.repairable[stream_id] = snapshot
                    return
            live_index += 1
            reason = difference((unpack(row[1]), row[2], bool(row[3])), snapshot)
            if reason is not None:
                differences.append((stream_id, reason))
                if keep:
                    report.repairable[stream_id] = snapshot

        cursor = connection.execute(_EVENTS.format(upper=bound), parameters)
        raw, light = msgspec.Raw, LightEvent  # locals: the loop below runs once per event
        current = ""
        stream: list[LightEvent] = []
        try:
            while rows := cursor.fetchmany(_FETCH):
                report.events += len(rows)
                if progress is not None:
                    progress(len(rows))
                for stream_id, version, event_id, type_, data, occurred_at in _typed(rows):
                    if stream_id != current:
                        if stream:
                            compare(current, stream)
                        current = stream_id
                        stream = []
                    stream.append(light(version, event_id, type_, raw(unpack(data)), occurred_at))
            if stream:
                compare(current, stream)
        except RuleViolation as error:
            report.violation = (error.event_index, error.rule, error.detail, error.append_index)
            return report
        while (row := next_live()) is not None:
            differences.append((row[0], "no events in the log"))
            live_index += 1
        connection.execute("COMMIT")
    finally:
        connection.close()
    return report


def _in_process(task: tuple[str, StreamFolder, str, str | None, bool]) -> bytes:
    """:func:`fold_range` in a worker process; the report as msgpack (pickling a report of
    many snapshots costs more)."""
    return msgspec.msgpack.encode(fold_range(*task))


_REPORT = msgspec.msgpack.Decoder(FoldReport)


async def fold_file(
    path: str,
    folder: StreamFolder,
    events: int,
    options: FoldOptions,
) -> FoldReport:
    """Fold the log of the file at ``path`` (``events`` long) over ``options.workers``
    processes (by default one per CPU from :data:`PARALLEL_MIN_EVENTS` events on, else this
    one).

    Workers come from the standard library's ProcessPoolExecutor with the spawn context
    (the caller runs threads, the store's among them, which fork would copy mid-state), so
    a script that calls this must guard its own work with ``if __name__ == "__main__"``
    (spawn imports the caller's main module again in each worker); the progress of a range
    is reported when it ends.
    """
    keep, workers, progress = options
    if workers is None:
        workers = (os.cpu_count() or 1) if events >= PARALLEL_MIN_EVENTS else 1
    workers = max(1, workers)
    loop = asyncio.get_running_loop()
    cuts = await loop.run_in_executor(None, boundaries, path, events, workers)
    ranges = list(zip(["", *cuts], [*cuts, None], strict=True))
    reports: list[FoldReport] = []
    if workers == 1:
        for lower, upper in ranges:
            report = await loop.run_in_executor(
                None, fold_range, path, folder, lower, upper, keep, progress
            )
            reports.append(report)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(ranges), mp_context=context) as pool:
            futures = [
                loop.run_in_executor(pool, _in_process, (path, folder, lower, upper, keep))
                for lower, upper in ranges
            ]
            for future in futures:
                report = _REPORT.decode(await future)
                if progress is not None:
                    progress(report.events)
                reports.append(report)
    merged = FoldReport(0, 0, [], [], {})
    for report in reports:
        if report.violation is not None:
            merged.violation = report.violation
            return merged
        merged.events += report.events
        merged.streams += report.streams
        merged.differences.extend(report.differences)
        merged.missing.extend(report.missing)
        merged.repairable.update(report.repairable)
        merge_counts(merged.counts, report.counts)
    return merged
