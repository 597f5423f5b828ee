"""The reads of the SQL stores, written once over each engine's SQL files.

:class:`SqlEventStore` is the group-commit front plus every read of the port that is the
same query on both engines: the engine names its SQL (``store/sql/<engine>/<name>.sql``),
runs a query on a pooled reader (:meth:`SqlEventStore._fetch`) or as a point lookup
(:meth:`SqlEventStore._lookup`), and decodes rows; the few queries whose text is built
from the filters asked for (``read_all``, ``list_streams``) are built by the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

from incidents.store import stored_states
from incidents.store.batching import GroupCommitFront
from incidents.store.inline import qualified
from incidents.store.listing import BIGGEST, ListsStreams, StreamFilter, bound
from incidents.store.plan import check_limit
from incidents.store.protocol import (
    GENESIS_HASH,
    Direction,
    LogHead,
    RecordedEvent,
    StoreUnavailableError,
    StreamRow,
)

# An unfiltered read of the log up to this many events is a short range of its primary key
# (0.75 ms for 500 events in SQLite): run as a lookup, it is read at once instead of waiting
# for a pooled reader's thread and then for its turn back on a loop busy with appends (a
# read model's catch-up under 64 appending connections: docs/benchmarks.md, figure 8).
RANGE_LOOKUP_EVENTS = 500
T = TypeVar("T")


class SqlEventStore(ListsStreams, GroupCommitFront):
    """What the SQLite and PostgreSQL stores share beyond the writer: the reads.

    The adapter sets ``_sql`` (its statements by name) and ``_changed``/``_polled_at``,
    and implements the hooks below.
    """

    _sql: Mapping[str, tuple[str, ...]]
    _changed: asyncio.Event
    _polled_at: float

    @abstractmethod
    async def _fetch(self, sql: str, parameters: Sequence[object]) -> Sequence[Any]:
        """Run one query on a pooled reader; a database failure is StoreUnavailableError."""

    async def _lookup(self, sql: str, parameters: Sequence[object]) -> Sequence[Any]:
        """A lookup of a row or two by key (an engine may run it off the pool)."""
        return await self._fetch(sql, parameters)

    @staticmethod
    @abstractmethod
    def _event(row: Any) -> RecordedEvent:
        """A row of the events table's envelope columns."""

    @staticmethod
    @abstractmethod
    def _stream(row: Any) -> StreamRow:
        """A row of the streams table's columns, as projections see it."""

    @abstractmethod
    def _keys(self, values: Sequence[str]) -> object:
        """A list of keys as one query parameter."""

    @abstractmethod
    def _read_all_query(
        self, after: int, limit: int, types: Sequence[str], categories: Sequence[str]
    ) -> tuple[str, Sequence[object]]:
        """The query of :meth:`read_all` and its parameters (empty filters: none)."""

    @abstractmethod
    def _list_streams_query(self, wanted: StreamFilter) -> tuple[str, Sequence[object]]:
        """The query of :meth:`list_streams` and its parameters."""

    def _poll_interval(self) -> float:
        """How long a watcher waits for a commit before looking at the head itself."""
        raise NotImplementedError

    async def _listen(self) -> None:
        """Start hearing other processes' commits, where the engine can (PostgreSQL)."""

    def _start(self, head: LogHead, max_batch: int, batch_wait: float, name: str) -> None:
        """Set up the group-commit front and start its batcher task (``name``)."""
        self._max_batch = max_batch
        self._batch_wait = batch_wait
        self._loop = asyncio.get_running_loop()
        self._pending = []
        self._wakeup = asyncio.Event()
        self._changed = asyncio.Event()
        self._head_position = head.position
        self._polled_at = 0.0
        self._closing = False
        self._close_task = None
        self._batcher = asyncio.create_task(self._write_batches(), name=name)

    def _statement(self, name: str) -> str:
        (sql,) = self._sql[name]
        return sql

    async def _decoded(self, rows: Sequence[Any], decode: Callable[[Any], T]) -> list[T]:
        """Rows decoded (events, stream rows); the log's dictionaries read again when a
        state or an event's data names one this process has not read (another process
        trained it)."""
        try:
            return [decode(row) for row in rows]
        except stored_states.UnknownDictionaryError:
            stored_states.learn(await self._fetch(self._statement("load_state_dictionaries"), ()))
            return [decode(row) for row in rows]

    async def _streams(self, rows: Sequence[Any]) -> list[StreamRow]:
        """Rows of the streams table as projections see them."""
        return await self._decoded(rows, self._stream)

    async def _read_stream(
        self, stream_id: str, from_version: int | None, direction: Direction, limit: int
    ) -> list[RecordedEvent]:
        if direction == "forward":
            start = 1 if from_version is None else bound(from_version)
            parameters = (stream_id, start, bound(limit))
            rows = await self._fetch(self._statement("read_forward"), parameters)
        else:
            end = BIGGEST if from_version is None else bound(from_version)
            parameters = (stream_id, end, bound(limit))
            rows = await self._fetch(self._statement("read_backward"), parameters)
        return await self._decoded(rows, self._event)

    async def _read_all(
        self, after: int, limit: int, types: Sequence[str], categories: Sequence[str]
    ) -> list[RecordedEvent]:
        sql, parameters = self._read_all_query(bound(after), bound(limit), types, categories)
        short_range = not types and not categories and limit <= RANGE_LOOKUP_EVENTS
        rows = await (self._lookup if short_range else self._fetch)(sql, parameters)
        return await self._decoded(rows, self._event)

    async def read_by_stream(
        self, after: tuple[str, int] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The whole log ordered by stream id, then version, after ``(stream id, version)``.

        Read along the UNIQUE (stream_id, version) index (ids compare as bytes).
        """
        check_limit(limit)
        after_id, after_version = after if after is not None else ("", 0)
        parameters = (after_id, bound(after_version), bound(limit))
        rows = await self._fetch(self._statement("read_by_stream"), parameters)
        return await self._decoded(rows, self._event)

    async def list_streams_after(
        self, after: str | None = None, limit: int = 1000
    ) -> list[StreamRow]:
        """Every stream's row ordered by stream id, after ``after``."""
        check_limit(limit)
        parameters = ("" if after is None else after, bound(limit))
        rows = await self._fetch(self._statement("list_streams_after"), parameters)
        return await self._streams(rows)

    async def query(
        self, projection: str, name: str, parameters: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of an inline projection's named read, on a pooled reader."""
        statements = self._sql.get(qualified(projection, name))
        if statements is None or len(statements) != 1:
            raise ValueError(f"no read {name!r} of a registered projection {projection!r}")
        return [tuple(row) for row in await self._fetch(statements[0], parameters)]

    async def snapshots_revision(self) -> int:
        """How many times replace_snapshots has committed on this log, from any process."""
        rows = await self._lookup(self._statement("snapshots_revision"), ())
        return int(rows[0][0]) if rows else 0

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version, 0 when it has no events."""
        rows = await self._lookup(self._statement("stream_version"), (stream_id,))
        return int(rows[0][0]) if rows else 0

    async def get_stream(self, stream_id: str) -> StreamRow | None:
        """The stream's folded state, None when it has no events."""
        rows = await self._lookup(self._statement("get_stream"), (stream_id,))
        return (await self._streams(rows))[0] if rows else None

    async def get_streams(self, stream_ids: Sequence[str]) -> dict[str, StreamRow]:
        """The folded states of those of ``stream_ids`` that have events, by stream id."""
        if not stream_ids:
            return {}
        parameters = (self._keys(list(stream_ids)),)
        rows = await self._lookup(self._statement("get_streams"), parameters)
        return {row.stream_id: row for row in await self._streams(rows)}

    async def _list_streams(self, wanted: StreamFilter) -> list[StreamRow]:
        sql, parameters = self._list_streams_query(wanted)
        return await self._streams(await self._fetch(sql, parameters))

    async def head(self) -> LogHead:
        """The last position and hash in the log (every process's appends)."""
        rows = await self._fetch(self._statement("read_head"), ())
        return LogHead(rows[0][0], rows[0][1]) if rows else LogHead(0, GENESIS_HASH)

    async def watch(self) -> AsyncIterator[int]:
        """Yield the head position now, then again after appends are committed.

        Commits in this process wake watchers at once; other processes' are heard where the
        engine can tell (PostgreSQL's LISTEN) and found by looking at the head when no
        commit came for a while (:meth:`_poll_interval`). Positions that come in quick
        succession may be yielded once, as the latest. Ends on close().
        """
        last = -1
        with contextlib.suppress(StoreUnavailableError):
            await self._listen()
            await self._poll_head(force=True)
        while not self._closing:
            changed = self._changed
            if self._head_position > last:
                last = self._head_position
                yield last
                continue
            interval = self._poll_interval()
            try:
                await asyncio.wait_for(changed.wait(), interval)
            except TimeoutError:
                try:
                    await self._listen()
                    await self._poll_head(interval)
                except StoreUnavailableError:
                    if self._closing:
                        return
                    raise

    def _notify(self) -> None:
        """Wake every watcher; each waits on the Event current when it last looked."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _poll_head(self, interval: float = 0.0, *, force: bool = False) -> None:
        """Look at the head (shared by all watchers, at most once per interval)."""
        now = asyncio.get_running_loop().time()
        if not force and now - self._polled_at < interval:
            return
        self._polled_at = now
        rows = await self._fetch(self._statement("head_position"), ())
        self._advance(int(rows[0][0]))
