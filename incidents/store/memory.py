"""The in-memory event store: the fake that unit tests run on.

Same semantics as the SQL stores (it works each append out with the same
:class:`~incidents.store.plan.AppendPlan`), no durability.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from incidents.store.folding import FoldsThroughReads
from incidents.store.inline import InlineProjection, check_projections, qualified
from incidents.store.listing import ListsStreams, StreamFilter
from incidents.store.migrations import migrate_projection, projection_migrations, with_projections
from incidents.store.plan import (
    AppendPlan,
    Step,
    StoredIdentity,
    StreamRecord,
    check_appends,
    check_limit,
    format_time,
    history_streams,
    recording_time,
)
from incidents.store.plan import id_bytes as _id_bytes
from incidents.store.protocol import (
    GENESIS_HASH,
    AppendRequest,
    AppendResult,
    Direction,
    EventStore,
    LogHead,
    RecordedEvent,
    StoreUnavailableError,
    StreamRow,
    StreamRules,
    StreamSnapshot,
    category_of,
)
from incidents.store.sqlite import SUBSTITUTIONS, SqliteDialect, run_statement
from incidents.store.writer import (
    Batch,
    BatchWriter,
    ConstraintViolation,
    Statement,
    drive_sync,
    load_sql,
    project,
    refused_by_projection,
)


class _MemoryDialect(SqliteDialect):
    """A rebuild reads the log from the store's own lists: its rows are the events, or
    (stream id, record) pairs."""

    @staticmethod
    def event(row: Any) -> RecordedEvent:
        assert isinstance(row, RecordedEvent)
        return row

    @staticmethod
    def record(row: Any) -> StreamRecord:
        assert isinstance(row[1], StreamRecord)
        return row[1]


# The log's streams table as the SQL stores have it, which a projection's SQL may read;
# the memory store keeps a copy beside the projections' tables.
_STREAMS_TABLE = (
    "CREATE TABLE streams (stream_id TEXT PRIMARY KEY, category TEXT NOT NULL,"
    " version INTEGER NOT NULL, state BLOB NOT NULL, mission TEXT, is_open INTEGER NOT NULL,"
    " last_position INTEGER NOT NULL, updated_at TEXT NOT NULL)"
)
_COPY_STREAM = "INSERT OR REPLACE INTO streams VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def _stream_columns(step: Step) -> tuple[object, ...]:
    """A stream's row in the copy of the streams table, after a step."""
    record = step.after
    snapshot = record.snapshot
    return (
        step.stream_id,
        record.category,
        record.version,
        snapshot.state,
        snapshot.mission,
        int(snapshot.is_open),
        record.last_position,
        format_time(record.updated_at),
    )


class MemoryEventStore(FoldsThroughReads, ListsStreams, EventStore):
    """The event store kept in dictionaries: same semantics as SQLite, no durability.

    Registered inline projections keep their tables in an in-memory SQLite database,
    written in a transaction with each append and rolled back when the append fails.
    """

    engine = "sqlite"

    def __init__(self, rules: StreamRules, projections: Sequence[InlineProjection] = ()) -> None:
        check_projections(projections)
        self._projections = tuple(projections)
        self._tables: sqlite3.Connection | None = None
        self._statements: dict[str, tuple[str, ...]] = {}
        self._batches = BatchWriter(_MemoryDialect(), rules, projections)
        self._rules = rules
        # Appends are serialised like the SQLite writer's, so a plan sees a stable log.
        self._lock = asyncio.Lock()
        self._events: list[RecordedEvent] = []
        self._identities: dict[UUID, StoredIdentity] = {}
        self._streams: dict[str, StreamRecord] = {}
        self._stream_positions: dict[str, list[int]] = {}
        self._changed = asyncio.Event()
        self._closed = False
        self._revision = 0
        if projections:
            # A test may append from its own loop's thread while the app it drives reads
            # from another's (Litestar's test client): the store is used from both.
            self._tables = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=False
            )
            self._tables.execute(_STREAMS_TABLE)
            self._statements = with_projections(
                load_sql("sqlite"), projections, "sqlite", SUBSTITUTIONS
            )
            for projection in projections:
                migrations = projection_migrations(projection, "sqlite", SUBSTITUTIONS)
                rebuild = functools.partial(self._batches.rebuild, projection)
                batch = migrate_projection(projection.name, migrations, format_time, rebuild)
                drive_sync(batch, self._run)

    def _run(self, statement: Statement) -> list[Any] | None:
        """Run a projection's statement on the in-memory tables; the log's own rows (a
        rebuild's read) come from the store's list."""
        if statement.name == "read_by_stream":
            after_id, after_version, limit = statement.parameters
            assert isinstance(after_id, str) and isinstance(after_version, int)
            assert isinstance(limit, int)
            return list(self._by_stream((after_id, after_version), limit))
        if statement.name == "move_snapshots_revision":
            self._revision += 1
            return None
        if statement.name == "fill_streams":
            (after,) = statement.parameters
            assert isinstance(after, str)
            ids = sorted(self._streams, key=_id_bytes)
            start = bisect_right(ids, _id_bytes(after), key=_id_bytes)
            return [(id_, self._streams[id_]) for id_ in ids[start : start + 1000]]
        assert self._tables is not None
        return run_statement(self._tables, self._statements, statement)

    def _projected(self, plan: AppendPlan) -> Batch[None]:
        """A plan's rows in the projections' tables, in a transaction of their own."""
        yield Statement("begin")
        try:
            yield Statement(
                "", rows=[_stream_columns(step) for step in plan.steps], text=_COPY_STREAM
            )
            yield from project(self._projections, self.engine, plan.steps, plan.events)
            yield Statement("commit")
        except ConstraintViolation as violation:
            yield Statement("rollback")
            raise refused_by_projection(violation) from violation.__cause__
        except Exception:
            yield Statement("rollback")
            raise

    def _project(self, plan: AppendPlan) -> None:
        """Write a plan's projection rows, before the plan joins the log; raises (and
        writes nothing) when a projection's table refuses them."""
        if self._tables is not None and plan.steps:
            drive_sync(self._projected(plan), self._run)

    async def query(
        self, projection: str, name: str, parameters: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of a registered inline projection's named read."""
        statements = self._statements.get(qualified(projection, name))
        if self._tables is None or statements is None or len(statements) != 1:
            raise ValueError(f"no read {name!r} of a registered projection {projection!r}")
        rows = run_statement(
            self._tables,
            self._statements,
            Statement(qualified(projection, name), tuple(parameters), fetch=True),
        )
        assert rows is not None
        return [tuple(row) for row in rows]

    async def rebuild(self, projection: str) -> None:
        """Fill a registered projection's tables afresh from the log."""
        found = self._batches.projection(projection)
        async with self._lock:
            drive_sync(self._batches.rebuild_alone(found), self._run)

    async def append_many(self, appends: Sequence[AppendRequest]) -> list[AppendResult]:
        """Append to several streams atomically: all of them are stored, or none."""
        check_appends(appends)
        async with self._lock:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            plan = AppendPlan(
                self._rules,
                self._head(),
                recording_time(self._events[-1].recorded_at if self._events else None),
                self._identities,
                self._streams,
                {
                    stream_id: [
                        self._events[p - 1] for p in self._stream_positions.get(stream_id, [])
                    ]
                    for stream_id in history_streams(self._rules, appends)
                },
            )
            results = plan.add(appends)
            self._project(plan)
            self._apply(plan)
            return results

    async def _read_stream(
        self, stream_id: str, from_version: int | None, direction: Direction, limit: int
    ) -> list[RecordedEvent]:
        positions = self._stream_positions.get(stream_id, [])
        if direction == "forward":
            start = 0 if from_version is None else max(from_version - 1, 0)
            chosen = positions[start : start + limit]
        else:
            end = len(positions)
            if from_version is not None:
                end = max(min(from_version, end), 0)
            chosen = positions[max(end - limit, 0) : end][::-1]
        return [self._events[position - 1] for position in chosen]

    async def _read_all(
        self, after: int, limit: int, types: Sequence[str], categories: Sequence[str]
    ) -> list[RecordedEvent]:
        wanted_types = frozenset(types) if types else None
        wanted_categories = frozenset(categories) if categories else None
        chosen: list[RecordedEvent] = []
        if limit == 0:
            return chosen
        for event in self._events[max(after, 0) :]:
            if wanted_types is not None and event.type not in wanted_types:
                continue
            if (
                wanted_categories is not None
                and category_of(event.stream_id) not in wanted_categories
            ):
                continue
            chosen.append(event)
            if len(chosen) == limit:
                break
        return chosen

    async def read_by_stream(
        self, after: tuple[str, int] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The whole log ordered by stream id, then version, after ``(stream id, version)``."""
        check_limit(limit)
        return self._by_stream(after if after is not None else ("", 0), limit)

    def _by_stream(self, after: tuple[str, int], limit: int) -> list[RecordedEvent]:
        after_id, after_version = after
        chosen: list[RecordedEvent] = []
        stream_ids = sorted(self._stream_positions, key=_id_bytes)
        start = bisect_left(stream_ids, _id_bytes(after_id), key=_id_bytes)
        for stream_id in stream_ids[start:]:
            if len(chosen) >= limit:
                break
            positions = self._stream_positions[stream_id]
            first = max(after_version, 0) if stream_id == after_id else 0
            for position in positions[first : first + limit - len(chosen)]:
                chosen.append(self._events[position - 1])
        return chosen

    async def list_streams_after(
        self, after: str | None = None, limit: int = 1000
    ) -> list[StreamRow]:
        """Every stream's row ordered by stream id, after ``after``."""
        check_limit(limit)
        stream_ids = sorted(self._streams, key=_id_bytes)
        start = 0 if after is None else bisect_right(stream_ids, _id_bytes(after), key=_id_bytes)
        return [
            self._streams[stream_id].row(stream_id)
            for stream_id in stream_ids[start : start + limit]
        ]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version, 0 when it has no events."""
        record = self._streams.get(stream_id)
        return 0 if record is None else record.version

    async def get_stream(self, stream_id: str) -> StreamRow | None:
        """The stream's folded state, None when it has no events."""
        record = self._streams.get(stream_id)
        return None if record is None else record.row(stream_id)

    async def get_streams(self, stream_ids: Sequence[str]) -> dict[str, StreamRow]:
        """The folded states of those of ``stream_ids`` that have events, by stream id."""
        streams = self._streams
        return {id_: streams[id_].row(id_) for id_ in stream_ids if id_ in streams}

    async def _list_streams(self, wanted: StreamFilter) -> list[StreamRow]:
        category, mission, is_open, after, limit, without_mission = wanted
        start = None if after is None else _id_bytes(after)
        chosen = [
            record.row(stream_id)
            for stream_id, record in sorted(self._streams.items(), key=lambda i: _id_bytes(i[0]))
            if record.category == category
            and (mission is None or record.snapshot.mission == mission)
            and (not without_mission or record.snapshot.mission is None)
            and (is_open is None or record.snapshot.is_open == is_open)
            and (start is None or _id_bytes(stream_id) > start)
        ]
        return chosen if limit is None else chosen[:limit]

    async def replace_snapshots(self, snapshots: Mapping[str, StreamSnapshot]) -> None:
        """Overwrite the folded state of existing streams; ValueError names unknown ones."""
        async with self._lock:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            plan = AppendPlan(self._rules, self._head(), datetime.now(UTC), {}, self._streams)
            plan.replace(snapshots)
            self._project(plan)
            self._streams.update(plan.changed_streams)
            self._revision += 1

    async def head(self) -> LogHead:
        """The last position and hash in the log."""
        return self._head()

    async def snapshots_revision(self) -> int:
        """How many times replace_snapshots has run."""
        return self._revision

    async def watch(self) -> AsyncIterator[int]:
        """Yield the head position now, then again each time appends are committed."""
        last = -1
        while not self._closed:
            changed = self._changed
            position = len(self._events)
            if position != last:
                last = position
                yield position
            await changed.wait()

    async def close(self) -> None:
        """Refuse further appends and end every watch; safe to call twice."""
        async with self._lock:
            self._closed = True
            self._changed.set()

    def _head(self) -> LogHead:
        if not self._events:
            return LogHead(0, GENESIS_HASH)
        last = self._events[-1]
        return LogHead(last.position, last.hash)

    def _apply(self, plan: AppendPlan) -> None:
        """Make a plan's staged appends part of the log and wake the watchers."""
        if not plan.events and not plan.changed_streams:
            return
        self._events.extend(plan.events)
        self._identities.update(plan.new_identities)
        self._streams.update(plan.changed_streams)
        for event in plan.events:
            self._stream_positions.setdefault(event.stream_id, []).append(event.position)
        if plan.events:
            self._changed.set()
            self._changed = asyncio.Event()
