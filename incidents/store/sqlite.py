"""The embedded event store: one SQLite file in WAL mode, one writer, group commit.

Writes. Every append becomes a *unit* in a queue. One asyncio task, the batcher, takes the
waiting units (up to ``max_batch``) and hands the whole batch to one dedicated writer thread
that owns the only write connection (stdlib :mod:`sqlite3`). The thread runs the batch as a
single ``BEGIN IMMEDIATE ... COMMIT``: it re-reads the head, loads every stream and event id
the batch mentions in two queries, works each unit out with :class:`AppendPlan` (the same
code as the memory store), writes all successful units with one ``executemany`` per table
and commits. Only then are the callers' futures resolved, so an acknowledged append is
durable (``synchronous=FULL``). A unit that fails (conflict, duplicate, rule) is dropped
from the plan before anything is written, so it fails alone; the others in the batch commit.

Why a thread and not aiosqlite for the writer: aiosqlite makes every statement a round trip
between the event loop and its thread. A batch is a handful of statements plus Python work
between them; running it in one hop keeps the loop free and the lock short.

The plan checks everything the UNIQUE constraints enforce, against rows read under the
write lock, so a constraint can only fail if the file disagrees with itself (a ``streams``
row out of step with ``events``). Then the batch is rolled back and replayed one unit at a
time, each in its own SAVEPOINT, and the failing unit gets a ConcurrencyError or
DuplicateEventError instead of a raw ``IntegrityError``.

Reads go through a small pool of aiosqlite connections; WAL lets them read while the writer
writes, and each read sees every append acknowledged before it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from uuid import UUID

import aiosqlite
import msgspec

from incidents.core.errors import (
    CorruptStoreError,
    ReadOnlyStoreError,
    StorageFullError,
    StoreBusyError,
)
from incidents.store.batching import Outcome as _Outcome
from incidents.store.batching import Unit as _Unit
from incidents.store.folding import FoldOptions, FoldReport, StreamFolder
from incidents.store.inline import InlineProjection, check_projections
from incidents.store.listing import StreamFilter
from incidents.store.migrations import (
    MIGRATIONS,
    check_registered,
    migrate,
    migrate_projection,
    projection_migrations,
    with_projections,
)
from incidents.store.plan import (
    StoredIdentity,
    StreamRecord,
    format_time,
    parse_time,
)
from incidents.store.protocol import (
    GENESIS_HASH,
    LogHead,
    RecordedEvent,
    StoreUnavailableError,
    StreamRow,
    StreamRules,
    StreamSnapshot,
)
from incidents.store.sqlite_fold import fold_file
from incidents.store.sqlstore import SqlEventStore
from incidents.store.stored_states import unpack
from incidents.store.writer import BatchWriter, ConstraintViolation, Statement, drive_sync, load_sql

# How often a watcher looks at the file for appends made by other processes (seconds).
HEAD_POLL_INTERVAL = 0.5
# The WAL's bound (docs/architecture.md, "The WAL stays bounded"): past it, the writer
# checkpoints with TRUNCATE after the batch is acknowledged; a WAL that restarts on its own
# is cut back to it (journal_size_limit).
WAL_LIMIT_BYTES = 64 * 1024 * 1024

_log = logging.getLogger(__name__)

_EVENT_COLUMNS = (
    "position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash"
)
_STREAM_COLUMNS = "stream_id, category, version, state, mission, is_open, last_position, updated_at"

_encode = msgspec.json.Encoder().encode
# SQLITE_BUSY and SQLITE_LOCKED with their extended codes (the low byte is the primary code).
_BUSY_CODES = frozenset(
    code for code in range(0, 4096) if code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
)


def _point_reader(path: str) -> sqlite3.Connection:
    """The loop's connection for point lookups: read-only, never waiting for a lock."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA query_only = ON")
    except BaseException:
        connection.close()
        raise
    return connection


# The kind of StoreUnavailableError each failing primary result code stands for.
_FAULT_KINDS: dict[int, type[StoreUnavailableError]] = {
    sqlite3.SQLITE_BUSY: StoreBusyError,
    sqlite3.SQLITE_LOCKED: StoreBusyError,
    sqlite3.SQLITE_FULL: StorageFullError,
    sqlite3.SQLITE_READONLY: ReadOnlyStoreError,
    sqlite3.SQLITE_CORRUPT: CorruptStoreError,
    sqlite3.SQLITE_NOTADB: CorruptStoreError,
}


def _unavailable(what: str, error: BaseException) -> StoreUnavailableError:
    """The port's error for a failure of the database: the one place sqlite3's errors are
    translated (by result code; the low byte of an extended code is the primary one)."""
    code = getattr(error, "sqlite_errorcode", None)
    kind = StoreUnavailableError if code is None else _FAULT_KINDS.get(code & 0xFF)
    unavailable = (kind or StoreUnavailableError)(f"{what}: {error}")
    unavailable.__cause__ = error
    return unavailable


# Rows become envelopes by the thousand on reads (replay, verify): msgspec makes a UUID
# from its text about three times faster than UUID(); fromisoformat reads format_time's text.
_uuid = functools.partial(msgspec.convert, type=UUID)
_time = datetime.fromisoformat


def _event_from_row(row: Any) -> RecordedEvent:
    return RecordedEvent(
        row[0],
        row[1],
        row[2],
        _uuid(row[3]),
        row[4],
        msgspec.Raw(unpack(row[5])),
        msgspec.Raw(row[6]),
        _time(row[7]),
        _time(row[8]),
        row[9],
    )


def _record_from_row(row: Any) -> StreamRecord:
    # A row of load_streams or fill_streams.
    return StreamRecord(
        row[1],
        row[2],
        StreamSnapshot(unpack(row[3]), row[4], bool(row[5])),
        row[6],
        parse_time(row[7]),
    )


def _stream_row(row: Any) -> StreamRow:
    # What _record_from_row(row).row(row[0]) gives, without the two objects in between.
    return StreamRow(
        row[0],
        row[1],
        row[2],
        msgspec.Raw(unpack(row[3])),
        row[4],
        bool(row[5]),
        row[6],
        _time(row[7]),
    )


class SqliteDialect:
    """How values travel to and from the file (see :class:`~incidents.store.writer.Dialect`):
    times as fixed-width text, ids as text, lists as JSON, labels as a JSON array."""

    upserts_streams = False
    announces = False
    engine = "sqlite"
    time = staticmethod(format_time)
    read_time = staticmethod(parse_time)
    event_id = staticmethod(str)
    flag = staticmethod(int)
    record = staticmethod(_record_from_row)
    event = staticmethod(_event_from_row)

    @staticmethod
    def keys(values: Sequence[object]) -> str:
        return _encode(values).decode()

    @staticmethod
    def identity(row: Any) -> tuple[UUID, StoredIdentity]:
        return UUID(row[0]), StoredIdentity(row[1], row[2], unpack(bytes(row[3])), row[4], row[5])


_SQL = load_sql("sqlite")
# What {schema} stands for in inline projections' SQL.
SUBSTITUTIONS = {"schema": "main"}
Statements = dict[str, tuple[str, ...]]


def run_statement(
    connection: sqlite3.Connection, statements: Statements, statement: Statement
) -> list[Any] | None:
    """Run one statement of the writer, the migrations or an inline projection: the one
    place sqlite3's errors become the port's (a constraint the writer handles, or the way
    the file failed)."""
    try:
        if statement.name == "rollback":
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            return None
        if statement.text is not None:
            if statement.rows is not None:
                connection.executemany(statement.text, statement.rows)
            else:
                connection.execute(statement.text, statement.parameters)
            return None
        if statement.rows is not None:
            (sql,) = statements[statement.name]
            connection.executemany(sql, statement.rows)
            return None
        if statement.fetch:
            (sql,) = statements[statement.name]
            return connection.execute(sql, statement.parameters).fetchall()
        for sql in statements[statement.name]:
            connection.execute(sql, statement.parameters)
        return None
    except sqlite3.IntegrityError as error:
        raise ConstraintViolation(error) from error
    except sqlite3.Error as error:
        raise _unavailable(statement.name or "a migration", error) from error


def apply_migrations(
    connection: sqlite3.Connection,
    rules: StreamRules | None = None,
    projections: Sequence[InlineProjection] = (),
) -> list[int]:
    """Bring the file's schema up to date, then each projection's; the store's versions
    applied (empty if none).

    ``connection`` must be in autocommit mode (``isolation_level=None``). With ``rules``,
    migration 3 refreshes every snapshot through them (and fills 2's labels); projections
    need rules (they are rebuilt through them). Raises RuntimeError for a file written by
    newer code.
    """
    run = functools.partial(
        run_statement, connection, with_projections(_SQL, projections, "sqlite", SUBSTITUTIONS)
    )
    if projections and rules is None:
        raise ValueError("inline projections are rebuilt through the rules: pass them")
    batches = None if rules is None else BatchWriter(SqliteDialect(), rules, projections)
    fills = None if batches is None else {3: batches.refresh_snapshots}
    applied = drive_sync(migrate(MIGRATIONS, format_time, fills), run)
    drive_sync(check_registered(projections), run)
    for projection in projections:
        assert batches is not None
        migrations = projection_migrations(projection, "sqlite", SUBSTITUTIONS)
        rebuild = functools.partial(batches.rebuild, projection)
        drive_sync(migrate_projection(projection.name, migrations, format_time, rebuild), run)
    return applied


class _Writer:
    """The single write connection, running the shared batch writer; every method runs on
    its thread."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        rules: StreamRules,
        projections: Sequence[InlineProjection],
        statements: Statements,
    ) -> None:
        self._connection = connection
        self.batches = BatchWriter(SqliteDialect(), rules, projections)
        self.statements = statements
        # The WAL file and its bound; write sets wal_over_limit when the WAL has outgrown
        # it, and the store then queues checkpoint on this thread.
        self.wal: str | None = None
        self.wal_limit = WAL_LIMIT_BYTES
        self.wal_over_limit = False

    @property
    def _known_streams(self) -> dict[str, StreamRecord]:
        return self.batches._known_streams

    @classmethod
    def connect(
        cls,
        path: str,
        rules: StreamRules,
        busy_timeout: float,
        projections: Sequence[InlineProjection] = (),
        wal_limit: int = WAL_LIMIT_BYTES,
    ) -> _Writer:
        """Open the file, switch it to WAL and bring its schema up to date."""
        connection = sqlite3.connect(
            path,
            timeout=busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
        )
        try:
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                raise StoreUnavailableError(f"{path!r} cannot use WAL (journal mode {mode})")
            connection.execute("PRAGMA synchronous = FULL")
            # Checkpoint every ~16 MiB of WAL rather than 4 MiB: each batch rewrites the same
            # hot index pages, which a checkpoint then copies once instead of four times.
            connection.execute("PRAGMA wal_autocheckpoint = 4000")
            connection.execute(f"PRAGMA journal_size_limit = {int(wal_limit)}")
            apply_migrations(connection, rules, projections)
        except BaseException:
            connection.close()
            raise
        statements = with_projections(_SQL, projections, "sqlite", SUBSTITUTIONS)
        writer = cls(connection, rules, projections, statements)
        writer.wal, writer.wal_limit = f"{path}-wal", wal_limit
        return writer

    def close(self) -> None:
        """Close the write connection (WAL checkpoints on the last close)."""
        self._connection.close()

    def read_head(self) -> LogHead:
        """The head as the file has it now."""
        row = self._connection.execute(self.statements["read_head"][0]).fetchone()
        return LogHead(0, GENESIS_HASH) if row is None else LogHead(row[0], row[1])

    def write(self, units: Sequence[_Unit]) -> tuple[list[_Outcome], LogHead | None]:
        """Run a batch as one transaction; each unit's outcome and the new head."""
        written = drive_sync(self.batches.write(units), self.run)
        if self.wal is not None:
            try:
                self.wal_over_limit = os.stat(self.wal).st_size > self.wal_limit
            except OSError:
                self.wal_over_limit = False
        return written

    def checkpoint(self) -> None:
        """Copy the whole WAL into the database and truncate it to nothing.

        The automatic checkpoints (PASSIVE, every 4,000 pages) copy only the frames no
        reader still needs, so readers that always overlap keep the WAL from starting
        over and it grows with what is written. TRUNCATE waits (up to the busy timeout)
        for the readers of older snapshots to finish instead; if they outlast it, the next
        batch over the limit tries again.
        """
        try:
            (busy, _, _) = self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as error:
            _log.warning("the WAL checkpoint failed: %s", error)
            return
        if busy:
            _log.info("the WAL checkpoint waited for readers in vain; it is tried again")

    def rebuild(self, name: str) -> None:
        """Fill a registered projection's tables afresh from the log, in one transaction."""
        drive_sync(self.batches.rebuild_alone(self.batches.projection(name)), self.run)

    def run(self, statement: Statement) -> list[Any] | None:
        """Run one of the writer's statements (see :func:`run_statement`)."""
        return run_statement(self._connection, self.statements, statement)


class SqliteEventStore(SqlEventStore):
    """The event store in one SQLite file; open it with :meth:`open`, end with :meth:`close`."""

    engine = "sqlite"

    def __init__(
        self,
        writer: _Writer,
        executor: ThreadPoolExecutor,
        readers: list[aiosqlite.Connection],
        head: LogHead,
        max_batch: int,
        batch_wait: float,
        point: sqlite3.Connection | None = None,
        path: str | None = None,
    ) -> None:
        """Use :meth:`open`, which builds the parts; this only wires them together."""
        self._path = path
        self._sql = writer.statements
        self._writer = writer
        self._executor = executor
        self._readers = readers
        self._point = point
        self._pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._pool.put_nowait(reader)
        self._start(head, max_batch, batch_wait, "sqlite-event-writer")

    @property
    def path(self) -> str | None:
        """The file behind the store; ``incidents replay`` reads it directly, in parallel."""
        return self._path

    @classmethod
    async def open(
        cls,
        path: str,
        rules: StreamRules,
        *,
        max_batch: int = 512,
        batch_wait: float = 0.0,
        busy_timeout: float = 5.0,
        readers: int = 4,
        projections: Sequence[InlineProjection] = (),
        wal_limit: int = WAL_LIMIT_BYTES,
    ) -> SqliteEventStore:
        """Open (creating if needed) the file at ``path`` and start the writer.

        ``max_batch`` caps how many appends one transaction takes, ``batch_wait`` is how
        long the writer waits for more once it has some, ``busy_timeout`` how long a write
        waits for another process's lock before StoreUnavailableError, ``readers`` the size
        of the read pool, ``projections`` the inline projections it keeps (their migrations
        run now), ``wal_limit`` the WAL's bound in bytes.
        """
        check_projections(projections)
        if max_batch < 1 or readers < 1 or min(batch_wait, busy_timeout, wal_limit) < 0:
            raise ValueError("max_batch and readers must be positive, waits not negative")
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-event-writer")
        try:
            writer = await loop.run_in_executor(
                executor, _Writer.connect, path, rules, busy_timeout, projections, wal_limit
            )
        except sqlite3.Error as error:
            executor.shutdown(wait=False)
            raise _unavailable(f"cannot open {path!r}", error) from error
        except BaseException:
            executor.shutdown(wait=False)
            raise
        connections: list[aiosqlite.Connection] = []
        point: sqlite3.Connection | None = None
        try:
            for _ in range(readers):
                reader = await aiosqlite.connect(path, timeout=busy_timeout, isolation_level=None)
                connections.append(reader)
                await reader.execute_fetchall("PRAGMA query_only = ON")
            point = _point_reader(path)
            head = await loop.run_in_executor(executor, writer.read_head)
        except BaseException as error:
            for reader in connections:
                await reader.close()
            if point is not None:
                point.close()
            await loop.run_in_executor(executor, writer.close)
            executor.shutdown(wait=False)
            if isinstance(error, sqlite3.Error):
                raise _unavailable(f"cannot open {path!r}", error) from error
            raise
        return cls(writer, executor, connections, head, max_batch, batch_wait, point, path)

    _event = staticmethod(_event_from_row)
    _stream = staticmethod(_stream_row)

    def _keys(self, values: Sequence[str]) -> str:
        return _encode(values).decode()

    def _poll_interval(self) -> float:
        return HEAD_POLL_INTERVAL

    def _read_all_query(
        self, after: int, limit: int, types: Sequence[str], categories: Sequence[str]
    ) -> tuple[str, Sequence[object]]:
        where = ["position > ?"]
        parameters: list[object] = [after]
        if types:
            where.append(f"type IN ({', '.join('?' * len(types))})")
            parameters.extend(types)
        if categories:
            where.append(f"category IN ({', '.join('?' * len(categories))})")
            parameters.extend(categories)
        parameters.append(limit)
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)}"
            " ORDER BY position LIMIT ?"
        )
        return sql, parameters

    def _list_streams_query(self, wanted: StreamFilter) -> tuple[str, Sequence[object]]:
        category, mission, is_open, after, limit, without_mission = wanted
        if mission is None and is_open is None and not without_mission:
            # A whole category: its ids are those that start with "category-", a range of
            # the primary key, which gives them in order (the unary + keeps SQLite from
            # sorting all of the category's rows for each page instead).
            prefix = f"{category}-"
            lower = prefix if after is None or after.encode() < prefix.encode() else after
            where = ["stream_id > ?", "stream_id < ?", "+category = ?"]
            parameters: list[object] = [lower, f"{category}.", category]
        else:
            where = ["category = ?"]
            parameters = [category]
            if mission is not None:
                where.append("mission = ?")
                parameters.append(mission)
            elif without_mission:
                where.append("mission IS NULL")
            if is_open is not None:
                where.append("is_open = ?")
                parameters.append(int(is_open))
            if after is not None:
                where.append("stream_id > ?")
                parameters.append(after)
        sql = (
            f"SELECT {_STREAM_COLUMNS} FROM streams WHERE {' AND '.join(where)} ORDER BY stream_id"
        )
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)
        return sql, parameters

    async def fold_streams(self, folder: StreamFolder, options: FoldOptions) -> FoldReport:
        """Fold every stream again and compare it with its live row, reading the file
        itself in ranges of stream ids over worker processes (``store/sqlite_fold.py``)."""
        assert self._path is not None, "a store opened by open() knows its file"
        events = (await self.head()).position
        return await fold_file(self._path, folder, events, options)

    async def rebuild(self, projection: str) -> None:
        """Fill a registered projection's tables afresh from the log, in one transaction
        that appends wait for."""
        self._writer.batches.projection(projection)
        await self._loop.run_in_executor(self._executor, self._writer.rebuild, projection)

    async def _release(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._writer.close)
        finally:
            self._executor.shutdown(wait=True)
            for reader in self._readers:
                await reader.close()
            if self._point is not None:
                self._point.close()

    async def _write_units(self, units: Sequence[_Unit]) -> tuple[list[_Outcome], LogHead | None]:
        # The whole batch runs in the writer thread in one hop.
        written = await self._loop.run_in_executor(self._executor, self._writer.write, units)
        if self._writer.wal_over_limit:
            # Queued on the writer's thread before the next batch, after this one's callers
            # are answered: their acknowledgement does not wait for it.
            self._writer.wal_over_limit = False
            self._executor.submit(self._writer.checkpoint)
        return written

    async def _lookup(self, sql: str, parameters: Sequence[object]) -> Sequence[Any]:
        """A point lookup by primary key: run at once on the loop's own read connection.

        A lookup of one row by its key takes a few microseconds in SQLite, less than the
        hand-over to a pooled reader's thread and back (measured: bench/probes/
        commands_only.py). WAL readers never wait for the writer; if the file is busy all
        the same (another connection recovering the WAL), the lookup goes to the pool,
        which waits up to busy_timeout.
        """
        if self._close_task is not None and self._close_task.done():
            raise StoreUnavailableError("the store is closed")
        if self._point is not None:
            try:
                return self._point.execute(sql, parameters).fetchall()
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode not in _BUSY_CODES:
                    raise _unavailable("the read failed", error) from error
            except (sqlite3.Error, ValueError) as error:
                raise _unavailable("the read failed", error) from error
        return list(await self._fetch(sql, parameters))

    async def _fetch(self, sql: str, parameters: Sequence[object]) -> Sequence[Any]:
        """Run one query on a pooled reader; a database failure is StoreUnavailableError."""
        if self._close_task is not None and self._close_task.done():
            raise StoreUnavailableError("the store is closed")
        reader = await self._pool.get()
        try:
            return list(await reader.execute_fetchall(sql, parameters))
        except (sqlite3.Error, ValueError) as error:
            raise _unavailable("the read failed", error) from error
        finally:
            self._pool.put_nowait(reader)
