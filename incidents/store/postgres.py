"""The scale-out event store: PostgreSQL through asyncpg, one writer task per process.

Writes. Every append becomes a *unit* in a queue. One asyncio task, the batcher, takes the
waiting units (up to ``max_batch``) and runs them as one transaction on its own connection.
The transaction first takes a transaction-level advisory lock on a key derived from the
schema, so every process writing to the same log queues behind it; only then does it read
the head (in READ COMMITTED each statement sees what committed before it started, so the
head read after the lock is the true head). It loads every stream and event id the batch
mentions in two queries, works each unit out with :class:`AppendPlan` (the same code as the
memory and SQLite stores), writes all successful units with one ``INSERT ... SELECT FROM
unnest(...)`` per table, NOTIFYs the new head and commits. Only then are the callers'
futures resolved. A unit that fails (conflict, duplicate, rule) is dropped from the plan
before anything is written, so it fails alone; the others in the batch commit.

The plan checks everything the UNIQUE constraints enforce, against rows read under the
lock, so a constraint can only fail when something wrote to the tables without the lock.
Then the batch is rolled back and replayed one unit at a time, each in its own SAVEPOINT,
and the failing unit gets a ConcurrencyError or DuplicateEventError instead of a raw
asyncpg error. Lock timeouts and connection trouble are StoreUnavailableError.

Reads go through a small asyncpg pool. ``watch`` LISTENs on a channel the writers NOTIFY on
commit, and polls the head now and then in case a notification was lost with a connection.

Every statement names its tables with the schema, so nothing depends on ``search_path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, cast
from uuid import UUID

import asyncpg
import msgspec

from incidents.settings import Settings
from incidents.store.batching import Outcome as _Outcome
from incidents.store.batching import Unit as _Unit
from incidents.store.folding import FoldsThroughReads
from incidents.store.inline import InlineProjection, check_projections
from incidents.store.listing import StreamFilter
from incidents.store.migrations import (
    check_registered,
    load_migrations,
    migrate,
    migrate_projection,
    projection_migrations,
    with_projections,
)
from incidents.store.plan import StoredIdentity, StreamRecord
from incidents.store.protocol import (
    GENESIS_HASH,
    ConnectionLostError,
    CorruptStoreError,
    LogHead,
    ReadOnlyStoreError,
    RecordedEvent,
    StorageFullError,
    StoreBusyError,
    StoreUnavailableError,
    StreamRow,
    StreamRules,
    StreamSnapshot,
)
from incidents.store.sqlstore import SqlEventStore
from incidents.store.stored_states import unpack
from incidents.store.writer import (
    BatchWriter,
    ConstraintViolation,
    Statement,
    drive_async,
    load_sql,
)

# How often a watcher looks at the head when it cannot LISTEN (seconds), and when it can
# (a notification is lost if the listening connection drops just before it arrives).
HEAD_POLL_INTERVAL = 0.5
LISTEN_POLL_INTERVAL = 5.0
# Read connections in the pool.
POOL_SIZE = 8
# How long (seconds) one statement may take before the store gives up on the server (a
# host gone without a word leaves a socket waiting for ever) and answers unavailable.
COMMAND_TIMEOUT = 60.0
DEFAULT_SCHEMA = "public"

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Errors a unit can cause by itself with what it asks to write (a row the plan did not
# know of, a value the column or a constraint of an inline projection's table refuses);
# the batch is replayed unit by unit to find it.
_UNIT_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
)
# The database or the way to it failing: lock timeouts, lost connections, a server going
# down, a pool that is closing.
_DATABASE_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # What asyncpg raises when the server's goodbye arrived on an idle connection.
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
# Of those, the ones that say the connection itself is gone.
_CONNECTION_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.AdminShutdownError,
    OSError,
)


class _Transaction(Protocol):
    async def __aenter__(self) -> object: ...

    async def __aexit__(self, *exc_info: object) -> bool | None: ...


class _Connection(Protocol):
    """The part of ``asyncpg.Connection`` this module uses."""

    async def execute(self, query: str, *args: object) -> str: ...

    async def fetch(self, query: str, *args: object) -> list[Any]: ...

    async def fetchrow(self, query: str, *args: object) -> Any: ...

    def transaction(self) -> _Transaction: ...

    def is_in_transaction(self) -> bool: ...

    def is_closed(self) -> bool: ...

    async def close(self) -> None: ...

    def terminate(self) -> None: ...

    async def add_listener(
        self, channel: str, callback: Callable[[Any, int, str, str], None]
    ) -> None: ...

    def add_termination_listener(self, callback: Callable[[Any], None]) -> None: ...


class _Pool(Protocol):
    """The part of ``asyncpg.Pool`` this module uses."""

    async def fetch(self, query: str, *args: object) -> list[Any]: ...

    async def close(self) -> None: ...

    def terminate(self) -> None: ...


def _lock_key(purpose: str, schema: str) -> int:
    """A signed 64-bit advisory lock key, the same in every process for one schema."""
    digest = hashlib.blake2b(f"incidents:{purpose}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# The kind of StoreUnavailableError each asyncpg error stands for; the first that matches.
_FAULT_KINDS: tuple[tuple[tuple[type[BaseException], ...], type[StoreUnavailableError]], ...] = (
    ((asyncpg.LockNotAvailableError, asyncpg.QueryCanceledError), StoreBusyError),
    ((asyncpg.DiskFullError,), StorageFullError),
    ((asyncpg.ReadOnlySQLTransactionError,), ReadOnlyStoreError),
    ((asyncpg.DataCorruptedError, asyncpg.IndexCorruptedError), CorruptStoreError),
    (_CONNECTION_FAULTS, ConnectionLostError),
)


def _unavailable(what: str, error: BaseException) -> StoreUnavailableError:
    """The port's error for a failure of the database: the one place asyncpg's errors are
    translated."""
    kind = next(
        (kind for faults, kind in _FAULT_KINDS if isinstance(error, faults)),
        StoreUnavailableError,
    )
    unavailable = kind(f"{what}: {error}")
    unavailable.__cause__ = error
    return unavailable


# The version a schema has once opened by this code.
LATEST_VERSION = load_migrations("postgres", {"schema": DEFAULT_SCHEMA})[-1].version

_EVENT_COLUMNS = (
    "position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash"
)
_STREAM_COLUMNS = "stream_id, category, version, state, mission, is_open, last_position, updated_at"


def _event_from_row(row: Any) -> RecordedEvent:
    # asyncpg gives every column its Python type already; metadata stays raw JSON, data is
    # JSON again once unpacked (stored_states).
    position, stream_id, version, event_id, type_, data, metadata, *times_and_hash = row
    return RecordedEvent(
        position,
        stream_id,
        version,
        event_id,
        type_,
        msgspec.Raw(unpack(data)),
        msgspec.Raw(metadata),
        *times_and_hash,
    )


def _record_from_row(row: Any) -> StreamRecord:
    # A row of load_streams or fill_streams.
    return StreamRecord(
        row[1], row[2], StreamSnapshot(unpack(row[3]), row[4], row[5]), row[6], row[7]
    )


def _stream_row(row: Any) -> StreamRow:
    return StreamRow(
        row[0], row[1], row[2], msgspec.Raw(unpack(row[3])), row[4], row[5], row[6], row[7]
    )


async def _keep_session(connection: object) -> None:
    """Pool reset for read connections: they change no session state, so skip the round
    trip asyncpg's default reset makes on every release (open transactions are still
    rolled back by the pool itself)."""


class _Dialect:
    """How values travel to and from PostgreSQL (see :class:`~incidents.store.writer.
    Dialect`): asyncpg's own types, lists as arrays, labels as an array literal."""

    upserts_streams = True
    announces = True
    engine = "postgres"
    record = staticmethod(_record_from_row)
    event = staticmethod(_event_from_row)

    @staticmethod
    def _same(value: Any) -> Any:
        return value

    time = read_time = event_id = flag = keys = _same

    @staticmethod
    def identity(row: Any) -> tuple[UUID, StoredIdentity]:
        return row[0], StoredIdentity(row[1], row[2], unpack(row[3]), row[4], row[5])


class _Writer:
    """The write connection, running the shared batch writer from the batcher task."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[_Connection]],
        statements: Mapping[str, tuple[str, ...]],
        rules: StreamRules,
        projections: Sequence[InlineProjection] = (),
    ) -> None:
        self._connect = connect
        self._connection: _Connection | None = None
        self._statements = statements
        self._rules = rules
        self._projections = projections
        self.batches = BatchWriter(_Dialect(), rules, projections)

    async def close(self) -> None:
        """Close the write connection, if there is one."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close_connection(connection)

    async def write(self, units: Sequence[_Unit]) -> tuple[list[_Outcome], LogHead | None]:
        """Run a batch as one transaction; each unit's outcome and the new head."""
        return await drive_async(self.batches.write(units), self.run)

    def twin(self) -> _Writer:
        """A writer of its own connection with the same statements, rules and projections
        (a rebuild runs there while this one goes on with the appends)."""
        return _Writer(self._connect, self._statements, self._rules, self._projections)

    async def run(self, statement: Statement) -> list[Any] | None:
        """Run one of the writer's statements; asyncpg's errors become the port's here."""
        name = statement.name
        if name == "rollback":
            await self._roll_back()
            return None
        connection = None
        try:
            connection = await self._connected()
            if statement.text is not None:
                await connection.execute(statement.text, *statement.parameters)
                return None
            statements = self._statements[name]
            if statement.rows is not None:
                (sql,) = statements
                # One statement over the rows' columns, each an array (unnest).
                await connection.execute(
                    sql, *(list(column) for column in zip(*statement.rows, strict=True))
                )
                return None
            if statement.fetch:
                (sql,) = statements
                return await connection.fetch(sql, *statement.parameters)
            for sql in statements:
                await connection.execute(sql, *statement.parameters)
            return None
        except _UNIT_FAULTS as error:
            unique = isinstance(error, asyncpg.UniqueViolationError)
            raise ConstraintViolation(error, unique=unique) from error
        except _DATABASE_FAULTS as error:
            # A lock not had leaves the connection sound; anything else may have broken it
            # half way through a message, so the next batch opens a new one.
            if connection is not None and not isinstance(error, asyncpg.LockNotAvailableError):
                self._forget(connection)
            raise _unavailable(name or "a migration", error) from error

    async def _roll_back(self) -> None:
        connection = self._connection
        if connection is None or connection.is_closed():
            return
        try:
            if connection.is_in_transaction():
                await connection.execute("ROLLBACK")
        except _DATABASE_FAULTS:
            self._forget(connection)

    async def _connected(self) -> _Connection:
        if self._connection is None or self._connection.is_closed():
            self._connection = await self._connect()
        return self._connection

    def _forget(self, connection: _Connection) -> None:
        """Drop the connection after a failure (it may be dead, or half way through a
        message), so the next batch opens a new one."""
        connection.terminate()
        if self._connection is connection:
            self._connection = None


async def _close_connection(connection: _Connection) -> None:
    try:
        async with asyncio.timeout(1.0):
            await connection.close()
    except _DATABASE_FAULTS:
        connection.terminate()


class PostgresEventStore(FoldsThroughReads, SqlEventStore):
    """The event store in one PostgreSQL schema; open it with :meth:`open`, end with
    :meth:`close`. Several processes may open the same schema and append at once."""

    engine = "postgres"

    def __init__(
        self,
        writer: _Writer,
        pool: _Pool,
        connect: Callable[[], Awaitable[_Connection]],
        statements: Mapping[str, tuple[str, ...]],
        schema: str,
        channel: str,
        head: LogHead,
        settings: Settings,
    ) -> None:
        """Use :meth:`open`, which builds the parts; this only wires them together."""
        self._writer = writer
        self._pool = pool
        self._connect = connect
        self._sql = statements
        self._schema = schema
        self._channel = channel
        self._listener: _Connection | None = None
        self._listener_lock = asyncio.Lock()
        self._start(head, settings.max_batch, settings.batch_wait, "postgres-event-writer")

    @classmethod
    async def open(
        cls,
        url: str,
        rules: StreamRules,
        settings: Settings | None = None,
        *,
        schema: str | None = None,
        projections: Sequence[InlineProjection] = (),
    ) -> PostgresEventStore:
        """Connect to ``url`` (``postgresql://...``), bring ``schema`` up to date, start the
        writer.

        ``schema`` (default ``public``, created if missing) holds the tables; a lower-case
        SQL identifier. From ``settings``: ``max_batch`` caps how many appends one
        transaction takes, ``batch_wait`` is how long the writer waits for more once it has
        some, ``busy_timeout`` how long a write waits for another process's lock before
        StoreUnavailableError. A server that cannot be reached is StoreUnavailableError.
        ``projections``: the inline projections it keeps (their migrations run now).
        """
        check_projections(projections)
        settings = Settings() if settings is None else settings
        schema = DEFAULT_SCHEMA if schema is None else schema
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema must be a lower-case SQL identifier, not {schema!r}")
        if settings.max_batch < 1 or settings.batch_wait < 0 or settings.busy_timeout < 0:
            raise ValueError("max_batch must be positive, waits not negative")
        # lock_timeout 0 would mean "wait for ever"; the nearest to "don't wait" is 1 ms.
        lock_timeout = f"{max(1, round(settings.busy_timeout * 1000))}ms"
        connect_timeout = max(settings.busy_timeout, 1.0)
        server_settings = {
            "lock_timeout": lock_timeout,
            # Says which log a server-side session serves.
            "application_name": f"incidents:{schema}",
            # asyncpg prepares every statement, and Postgres would soon reuse one generic
            # plan per statement: made while the log is small it scans whole tables for ever
            # after, and it cannot know which type or category filter is selective.
            "plan_cache_mode": "force_custom_plan",
        }

        async def connect() -> _Connection:
            return cast(
                _Connection,
                await asyncpg.connect(
                    url,
                    timeout=connect_timeout,
                    command_timeout=COMMAND_TIMEOUT,
                    server_settings=server_settings,
                ),
            )

        channel = f"incidents_{hashlib.blake2b(schema.encode(), digest_size=8).hexdigest()}"
        substitutions = {
            "schema": f'"{schema}"',
            "append_lock": str(_lock_key("append", schema)),
            "channel": channel,
        }
        statements = with_projections(
            load_sql("postgres", substitutions), projections, "postgres", substitutions
        )
        writer = _Writer(connect, statements, rules, projections)
        pool: _Pool | None = None
        try:
            await _migrate(writer, schema, projections)
            connection = await writer._connected()
            row = await connection.fetchrow(statements["read_head"][0])
            head = LogHead(0, GENESIS_HASH) if row is None else LogHead(row[0], row[1])
            pool = cast(
                _Pool,
                await asyncpg.create_pool(
                    url,
                    min_size=1,
                    max_size=POOL_SIZE,
                    timeout=connect_timeout,
                    command_timeout=COMMAND_TIMEOUT,
                    server_settings=server_settings,
                    reset=_keep_session,
                ),
            )
        except BaseException as error:
            await writer.close()
            if pool is not None:
                pool.terminate()
            if isinstance(error, _DATABASE_FAULTS):
                raise _unavailable(f"cannot open the event store in {schema!r}", error) from error
            raise
        return cls(writer, pool, connect, statements, f'"{schema}"', channel, head, settings)

    _event = staticmethod(_event_from_row)
    _stream = staticmethod(_stream_row)

    def _keys(self, values: Sequence[str]) -> list[str]:
        return list(values)

    def _poll_interval(self) -> float:
        return HEAD_POLL_INTERVAL if self._listener is None else LISTEN_POLL_INTERVAL

    def _read_all_query(
        self, after: int, limit: int, types: Sequence[str], categories: Sequence[str]
    ) -> tuple[str, Sequence[object]]:
        where = ["position > $1::bigint"]
        parameters: list[object] = [after, limit]
        for values, column in ((types, "type"), (categories, "category")):
            if values:
                parameters.append(list(values))
                where.append(f"{column} = ANY(${len(parameters)}::text[])")
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM {self._schema}.events WHERE {' AND '.join(where)}"
            " ORDER BY position LIMIT $2::bigint"
        )
        return sql, parameters

    def _list_streams_query(self, wanted: StreamFilter) -> tuple[str, Sequence[object]]:
        where = ["category = $1"]
        parameters: list[object] = [wanted.category]
        filters = (
            ("mission =", wanted.mission),
            ("is_open =", wanted.is_open),
            ("stream_id >", wanted.after),
        )
        for condition, value in filters:
            if value is not None:
                parameters.append(value)
                where.append(f"{condition} ${len(parameters)}")
        if wanted.without_mission:
            where.append("mission IS NULL")
        sql = (
            f"SELECT {_STREAM_COLUMNS} FROM {self._schema}.streams"
            f" WHERE {' AND '.join(where)} ORDER BY stream_id"
        )
        if wanted.limit is not None:
            parameters.append(wanted.limit)
            sql += f" LIMIT ${len(parameters)}::bigint"
        return sql, parameters

    async def rebuild(self, projection: str) -> None:
        """Fill a registered projection's tables afresh from the log, in one transaction
        on a connection of its own, under the lock appends take."""
        found = self._writer.batches.projection(projection)
        if self._closing:
            raise StoreUnavailableError("the store is closed")
        writer = self._writer.twin()
        try:
            await drive_async(writer.batches.rebuild_alone(found), writer.run)
        finally:
            await writer.close()

    async def _release(self) -> None:
        await self._writer.close()
        async with self._listener_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            await _close_connection(listener)
        try:
            # Reads still running get a moment to finish, then lose their connection.
            async with asyncio.timeout(5.0):
                await self._pool.close()
        except _DATABASE_FAULTS:
            self._pool.terminate()

    async def _write_units(self, units: Sequence[_Unit]) -> tuple[list[_Outcome], LogHead | None]:
        return await self._writer.write(units)

    async def _listen(self) -> None:
        """LISTEN for other processes' commits on a connection of its own, if not already.

        Failing to connect leaves the watchers polling; they try again on their next poll.
        """
        async with self._listener_lock:
            if self._closing or (self._listener is not None and not self._listener.is_closed()):
                return
            self._listener = None
            try:
                listener = await self._connect()
                listener.add_termination_listener(self._on_listener_lost)
                await listener.add_listener(self._channel, self._on_notification)
            except _DATABASE_FAULTS:
                return
            self._listener = listener

    def _on_notification(self, connection: object, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._advance(int(payload))

    def _on_listener_lost(self, connection: object) -> None:
        if self._listener is connection:
            self._listener = None
        # Watchers wake, find nothing new, and fall back to polling until LISTEN is back.
        self._notify()

    async def _fetch(self, sql: str, parameters: Sequence[object]) -> list[Any]:
        """Run one query on a pooled connection, again once if the connection was lost; a
        database failure is StoreUnavailableError."""
        if self._close_task is not None and self._close_task.done():
            raise StoreUnavailableError("the store is closed")
        try:
            try:
                return await self._pool.fetch(sql, *parameters)
            except _CONNECTION_FAULTS:
                # A pooled connection the server closed while it sat idle: reads are safe to
                # run again, and the pool replaces the connection on release.
                if self._closing:
                    raise
                return await self._pool.fetch(sql, *parameters)
        except _DATABASE_FAULTS as error:
            raise _unavailable("the read failed", error) from error


async def _migrate(
    writer: _Writer, schema: str, projections: Sequence[InlineProjection]
) -> list[int]:
    """Bring ``schema`` up to date on the writer's connection, then each projection's
    tables; the store's versions applied.

    A session advisory lock keyed on the schema makes processes that open a fresh schema
    at once take turns; the later ones find the work done. Raises RuntimeError for a
    schema written by newer code.
    """
    connection = await writer._connected()
    key = _lock_key("migrate", schema)
    await connection.execute("SELECT pg_advisory_lock($1)", key)
    try:
        # Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when
        # the schema is there, and a deployment's role may own its schema and nothing more.
        if (
            await connection.fetchrow("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema)
            is None
        ):
            await connection.execute(f'CREATE SCHEMA "{schema}"')
        substitutions = {"schema": f'"{schema}"'}
        migrations = load_migrations("postgres", substitutions)
        batches = writer.batches
        fills = {3: batches.refresh_snapshots}
        applied = await drive_async(migrate(migrations, _Dialect.time, fills), writer.run)
        await drive_async(check_registered(projections), writer.run)
        for projection in projections:
            steps = projection_migrations(projection, "postgres", substitutions)
            rebuild = functools.partial(batches.rebuild, projection)
            await drive_async(
                migrate_projection(projection.name, steps, _Dialect.time, rebuild), writer.run
            )
        return applied
    finally:
        # A connection that died has dropped the lock with it.
        with contextlib.suppress(*_DATABASE_FAULTS):
            await connection.execute("SELECT pg_advisory_unlock($1)", key)
