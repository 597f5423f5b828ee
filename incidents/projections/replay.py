"""Rebuild every stream's folded state from the log and compare it with the live one.

The live states are kept by the store's writer as events are committed; replay folds the
whole log again with the same rules and reports every stream whose state, mission or
open flag differs. With ``repair`` it writes the rebuilt states back.

The log is read stream by stream (``EventStore.read_by_stream``: by stream id, then
version), so each stream is folded in one go, from its first event, compared with its live
row and let go: memory holds one page of events and one stream's state, whatever the size
of the log. The live rows are read in the same order (``list_streams_after``) and the two
sequences are merged, so a live row whose stream has no events is found as well.
"""

from __future__ import annotations

import asyncio
import functools
import os
import pickle
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

import msgspec

from incidents.domain.rules import LoggedEvent
from incidents.projections.missions import MissionTallies, read_tallies, stored_labels
from incidents.store.protocol import (
    EventStore,
    RecordedEvent,
    RuleViolation,
    StreamRow,
    StreamRules,
    StreamSnapshot,
    category_of,
)


class StreamDifference(msgspec.Struct, frozen=True):
    """A stream whose live state is not what the log folds to."""

    stream_id: str
    reason: str


class ReplayReport(msgspec.Struct, frozen=True):
    """What a replay found."""

    events: int
    streams: int
    differences: list[StreamDifference]
    repaired: bool = False
    # Missions whose per-mission tallies (the missions view's counts) are not what the
    # rebuilt streams add up to; a repair counts every mission's tallies afresh.
    tally_differences: list[StreamDifference] = msgspec.field(default_factory=list)


@runtime_checkable
class StreamFolder(Protocol):
    """Rules that can fold a stream's whole log without deciding each event again.

    Every event in the log was accepted by the rules when it was appended, so replay may
    fold it without checking it again; ``fold(stream_id, events)`` must give the snapshot
    ``apply(stream_id, None, events)`` gives for a log the rules accepted.
    """

    def fold(self, stream_id: str, events: Sequence[RecordedEvent]) -> StreamSnapshot:
        """The snapshot of a stream from all its events, first to last."""
        ...


@runtime_checkable
class LoggedFolder(Protocol):
    """A :class:`StreamFolder` that needs of each event only what :class:`LoggedEvent` has.

    Replay reading a SQLite file itself hands it light rows instead of whole envelopes.
    """

    def fold_logged(self, stream_id: str, events: Sequence[LoggedEvent]) -> StreamSnapshot:
        """The snapshot of a stream from all its events, first to last."""
        ...


class _LiveRows:
    """The store's live stream rows in stream id order, a page at a time."""

    def __init__(self, store: EventStore, page_size: int) -> None:
        self._store = store
        self._page_size = page_size
        self._page: list[StreamRow] = []
        self._index = 0
        self._after: str | None = None
        self._done = False

    async def peek(self) -> StreamRow | None:
        """The next row, without taking it; None once every row was taken."""
        if self._index == len(self._page):
            if self._done:
                return None
            self._page = await self._store.list_streams_after(self._after, self._page_size)
            self._index = 0
            if len(self._page) < self._page_size:
                self._done = True
            if not self._page:
                return None
            self._after = self._page[-1].stream_id
        return self._page[self._index]

    def buffered(self) -> StreamRow | None:
        """The next row if it is already read, else None (then ask peek())."""
        return self._page[self._index] if self._index < len(self._page) else None

    def take(self) -> None:
        """Move past the row peek() returned."""
        self._index += 1


def _order(stream_id: str) -> bytes:
    # Stores order stream ids by their bytes; comparing str by code point is the same for
    # the ASCII ids the contract allows, but bytes say what is meant.
    return stream_id.encode()


Tallies = dict[str, dict[str, int]]


def _count_tallies(tallies: Tallies, stream_id: str, snapshot: StreamSnapshot) -> None:
    """Add one rebuilt stream's labels to its mission's counts."""
    if snapshot.mission is None:
        return
    labels = stored_labels(category_of(stream_id), snapshot.state, snapshot.is_open)
    if not labels:
        return
    counts = tallies.setdefault(snapshot.mission, {})
    for label in labels:
        counts[label] = counts.get(label, 0) + 1


async def _tally_differences(store: EventStore, rebuilt: Tallies) -> list[StreamDifference]:
    """Missions whose live tallies differ from what the rebuilt streams add up to (none
    when the store does not keep the mission tallies)."""
    try:
        live = {tally.mission: tally.counts for tally in await read_tallies(store)}
    except ValueError:
        return []
    return [
        StreamDifference(mission, "mission tallies differ")
        for mission in sorted(set(live) | set(rebuilt))
        if live.get(mission, {}) != rebuilt.get(mission, {})
    ]


async def _repair(
    store: EventStore,
    repairable: dict[str, StreamSnapshot],
    tally_differences: list[StreamDifference],
) -> None:
    """Write the rebuilt snapshots back, then count the mission tallies afresh from the
    streams: the rows replaced were not what the tallies were counted from, so their
    changes cannot be trusted to move them right."""
    await store.replace_snapshots(repairable)
    if tally_differences or (repairable and await _keeps_tallies(store)):
        await store.rebuild(MissionTallies.name)


async def _keeps_tallies(store: EventStore) -> bool:
    try:
        await read_tallies(store)
    except ValueError:
        return False
    return True


async def replay(
    store: EventStore,
    rules: StreamRules,
    repair: bool = False,
    progress: Callable[[int], None] | None = None,
    page_size: int = 10_000,
    *,
    path: str | None = None,
    workers: int | None = None,
) -> ReplayReport:
    """Rebuild all stream states and report (and optionally repair) every difference.

    Differences come in stream id order: a live row with no events in the log ("no events
    in the log"), a state that differs ("state differs"), equal states whose ``mission`` or
    ``is_open`` differ ("index columns differ"); then, by stream id, the streams with
    events but no live row ("missing from the live states").

    ``path`` is the SQLite file behind ``store`` (else the store's ``path`` attribute, if it
    has one): with rules that fold light rows (:class:`LoggedFolder`) replay then reads the
    file itself, over ``workers`` processes (by default one
    per CPU once the log holds :data:`PARALLEL_MIN_EVENTS` events), each folding and
    comparing a range of stream ids. The report is the same as the store's read path gives.
    """
    if path is None:
        found = getattr(store, "path", None)
        path = found if isinstance(found, str) else None
    if path is not None and isinstance(rules, LoggedFolder):
        return await _replay_file(store, path, rules, repair, progress, workers)
    fold = rules.fold if isinstance(rules, StreamFolder) else None
    keeps_tallies = await _keeps_tallies(store)
    live = _LiveRows(store, page_size)
    differences: list[StreamDifference] = []
    missing: list[StreamDifference] = []
    repairable: dict[str, StreamSnapshot] = {}
    tallies: Tallies = {}
    count = 0
    streams = 0

    def rebuild(stream_id: str, events: list[RecordedEvent]) -> StreamSnapshot:
        return fold(stream_id, events) if fold else rules.apply(stream_id, None, events)

    async def compare(rebuilt: list[tuple[str, StreamSnapshot]]) -> None:
        """Merge a page's rebuilt streams with the live rows, both in stream id order."""
        for stream_id, snapshot in rebuilt:
            if keeps_tallies:
                _count_tallies(tallies, stream_id, snapshot)
            row = live.buffered()
            if row is None or row.stream_id != stream_id:
                key = _order(stream_id)
                while (row := await live.peek()) is not None and _order(row.stream_id) < key:
                    differences.append(StreamDifference(row.stream_id, "no events in the log"))
                    live.take()
                if row is None or row.stream_id != stream_id:
                    missing.append(StreamDifference(stream_id, "missing from the live states"))
                    repairable[stream_id] = snapshot
                    continue
            live.take()
            if bytes(row.state) != snapshot.state:
                reason = "state differs"
            elif row.mission != snapshot.mission or row.is_open != snapshot.is_open:
                reason = "index columns differ"
            else:
                continue
            differences.append(StreamDifference(stream_id, reason))
            repairable[stream_id] = snapshot

    # Pages are read one after the other, not ahead: reading the next page in a thread
    # while this one is folded was slower (each row the reader makes waits for the GIL).
    current = ""
    events: list[RecordedEvent] = []
    after: tuple[str, int] | None = None
    while page := await store.read_by_stream(after, page_size):
        # Every stream that ends in this page is folded; the last may go on in the next.
        rebuilt: list[tuple[str, StreamSnapshot]] = []
        for event in page:
            if event.stream_id != current:
                if events:
                    rebuilt.append((current, rebuild(current, events)))
                current = event.stream_id
                events = []
            events.append(event)
        streams += len(rebuilt)
        await compare(rebuilt)
        count += len(page)
        if progress is not None:
            progress(len(page))
        if len(page) < page_size:
            break
        after = (page[-1].stream_id, page[-1].version)
    if events:
        streams += 1
        await compare([(current, rebuild(current, events))])
    while (row := await live.peek()) is not None:
        differences.append(StreamDifference(row.stream_id, "no events in the log"))
        live.take()
    differences.extend(missing)
    tally_differences = await _tally_differences(store, tallies)
    if repair and (repairable or tally_differences):
        await _repair(store, repairable, tally_differences)
    return ReplayReport(
        count,
        streams,
        differences,
        repaired=repair and bool(repairable or tally_differences),
        tally_differences=tally_differences,
    )


# --- reading the SQLite file directly ---------------------------------------------------------

PARALLEL_MIN_EVENTS = 100_000
"""Below this many events one process replays the file (starting workers costs more)."""

_STREAM_AT = (
    "SELECT stream_id FROM events WHERE stream_id > ? ORDER BY stream_id, version LIMIT 1 OFFSET ?"
)
_EVENTS = (
    "SELECT stream_id, event_id, type, data, occurred_at FROM events"
    " WHERE stream_id >= ?{upper} ORDER BY stream_id, version"
)
_STREAMS = (
    "SELECT stream_id, state, mission, is_open FROM streams"
    " WHERE stream_id >= ?{upper} ORDER BY stream_id"
)
_FETCH = 10_000


class _Logged(msgspec.Struct, frozen=True, gc=False):
    """One event as the fold reads it: a light row instead of a RecordedEvent."""

    event_id: UUID
    type: str
    data: msgspec.Raw
    occurred_at: datetime


class _RangeResult(msgspec.Struct):
    """What one range of stream ids replayed to: counts, differences in order, repairs."""

    events: int
    streams: int
    differences: list[tuple[str, str]]
    missing: list[str]
    repairable: dict[str, StreamSnapshot]
    violation: tuple[int, str, str, int] | None = None
    tallies: Tallies = msgspec.field(default_factory=dict)


_uuid = functools.partial(msgspec.convert, type=UUID)
_time = datetime.fromisoformat


_Row = tuple[str, UUID, str, bytes, datetime]
_ROWS = list[_Row]


def _typed(rows: list[tuple[str, str, str, bytes, str]]) -> list[_Row]:
    """A page of event rows with ids as UUIDs and times as datetimes.

    msgspec converts a whole page in one call, several times faster than row by row; a
    page it will not take is converted as the store's read path converts each row.
    """
    try:
        return msgspec.convert(rows, _ROWS)
    except msgspec.ValidationError:
        return [(s, _uuid(e), t, d, _time(o)) for s, e, t, d, o in rows]


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA query_only = ON")
    return connection


def _boundaries(path: str, events: int, ranges: int) -> list[str]:
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


def _replay_range(
    path: str,
    rules: LoggedFolder,
    lower: str,
    upper: str | None,
    repair: bool,
    progress: Callable[[int], None] | None = None,
) -> _RangeResult:
    """Fold every stream whose id is in [lower, upper) and compare it with its live row."""
    bound = "" if upper is None else " AND stream_id < ?"
    parameters: tuple[str, ...] = (lower,) if upper is None else (lower, upper)
    fold = rules.fold_logged
    result = _RangeResult(0, 0, [], [], {})
    differences = result.differences
    missing = result.missing
    repairable = result.repairable
    connection = _connect(path)
    try:
        connection.execute("BEGIN")  # both tables as of one moment
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

        def compare(stream_id: str, snapshot: StreamSnapshot) -> None:
            nonlocal live_index
            _count_tallies(result.tallies, stream_id, snapshot)
            row = next_live()
            if row is None or row[0] != stream_id:
                key = stream_id.encode()
                while (row := next_live()) is not None and row[0].encode() < key:
                    differences.append((row[0], "no events in the log"))
                    live_index += 1
                if row is None or row[0] != stream_id:
                    missing.append(stream_id)
                    if repair:
                        repairable[stream_id] = snapshot
                    return
            live_index += 1
            if row[1] != snapshot.state:
                reason = "state differs"
            elif row[2] != snapshot.mission or bool(row[3]) != snapshot.is_open:
                reason = "index columns differ"
            else:
                return
            differences.append((stream_id, reason))
            if repair:
                repairable[stream_id] = snapshot

        cursor = connection.execute(_EVENTS.format(upper=bound), parameters)
        raw, logged = msgspec.Raw, _Logged  # locals: the loop below runs once per event
        current = ""
        stream: list[_Logged] = []
        count = 0
        streams = 0
        try:
            while rows := cursor.fetchmany(_FETCH):
                count += len(rows)
                if progress is not None:
                    progress(len(rows))
                for stream_id, event_id, type_, data, occurred_at in _typed(rows):
                    if stream_id != current:
                        if stream:
                            streams += 1
                            compare(current, fold(current, stream))
                        current = stream_id
                        stream = []
                    stream.append(logged(event_id, type_, raw(data), occurred_at))
            if stream:
                streams += 1
                compare(current, fold(current, stream))
        except RuleViolation as error:
            result.violation = (error.event_index, error.rule, error.detail, error.append_index)
            return result
        while (row := next_live()) is not None:
            differences.append((row[0], "no events in the log"))
            live_index += 1
        result.events = count
        result.streams = streams
        connection.execute("COMMIT")
    finally:
        connection.close()
    return result


async def _in_worker(
    path: str,
    rules: LoggedFolder,
    lower: str,
    upper: str | None,
    repair: bool,
    progress: Callable[[int], None] | None,
) -> _RangeResult:
    """:func:`_replay_range` in a process of its own (``python -m`` this module).

    A fresh interpreter, not fork (the caller runs threads, the store's among them) nor
    multiprocessing's spawn (which imports the caller's ``__main__`` again). The task goes
    in pickled on stdin; frames come back on stdout: progress counts, then the result.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        # the modules this process imported, wherever they came from
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(pickle.dumps((path, rules, lower, upper, repair)))
        process.stdin.close()
        while True:
            try:
                head = await process.stdout.readexactly(5)
            except asyncio.IncompleteReadError:
                code = await process.wait()
                raise RuntimeError(
                    f"a replay worker ended without a result (exit {code})"
                ) from None
            body = await process.stdout.readexactly(int.from_bytes(head[1:], "big"))
            if head[:1] == b"p":
                if progress is not None:
                    progress(int(body))
                continue
            if head[:1] == b"e":
                raise pickle.loads(body)
            result = _RESULT.decode(body)
            await process.wait()
            return result
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


_RESULT = msgspec.msgpack.Decoder(_RangeResult)


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "big") + body


def _worker_main() -> None:
    """The worker's side of :func:`_in_worker`."""
    path, rules, lower, upper, repair = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer

    def report(count: int) -> None:
        out.write(_frame(b"p", str(count).encode()))
        out.flush()

    try:
        result = _replay_range(path, rules, lower, upper, repair, report)
    except Exception as error:  # handed to the parent, which raises it
        try:
            body = pickle.dumps(error)
            pickle.loads(body)
        except Exception:
            body = pickle.dumps(RuntimeError(f"replay worker: {error!r}"))
        out.write(_frame(b"e", body))
    else:
        out.write(_frame(b"r", msgspec.msgpack.encode(result)))
    out.flush()


async def _replay_file(
    store: EventStore,
    path: str,
    rules: LoggedFolder,
    repair: bool,
    progress: Callable[[int], None] | None,
    workers: int | None,
) -> ReplayReport:
    events = (await store.head()).position
    if workers is None:
        workers = (os.cpu_count() or 1) if events >= PARALLEL_MIN_EVENTS else 1
    workers = max(1, workers)
    loop = asyncio.get_running_loop()
    cuts = await loop.run_in_executor(None, _boundaries, path, events, workers)
    bounds = list(zip(["", *cuts], [*cuts, None], strict=True))
    results: list[_RangeResult]
    if workers == 1:
        results = []
        for lower, upper in bounds:
            result = await loop.run_in_executor(
                None, _replay_range, path, rules, lower, upper, repair, progress
            )
            results.append(result)
    else:
        results = list(
            await asyncio.gather(
                *(
                    _in_worker(path, rules, lower, upper, repair, progress)
                    for lower, upper in bounds
                )
            )
        )
    differences: list[StreamDifference] = []
    missing: list[StreamDifference] = []
    repairable: dict[str, StreamSnapshot] = {}
    tallies: Tallies = {}
    for result in results:
        if result.violation is not None:
            raise RuleViolation(*result.violation)
        for mission, counts in result.tallies.items():
            into = tallies.setdefault(mission, {})
            for label, number in counts.items():
                into[label] = into.get(label, 0) + number
        differences.extend(StreamDifference(i, reason) for i, reason in result.differences)
        missing.extend(StreamDifference(i, "missing from the live states") for i in result.missing)
        repairable.update(result.repairable)
    differences.extend(missing)
    tally_differences = await _tally_differences(store, tallies)
    if repair and (repairable or tally_differences):
        await _repair(store, repairable, tally_differences)
    return ReplayReport(
        sum(r.events for r in results),
        sum(r.streams for r in results),
        differences,
        repaired=repair and bool(repairable or tally_differences),
        tally_differences=tally_differences,
    )


if __name__ == "__main__":
    _worker_main()
