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
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from uuid import UUID

import aiosqlite
import msgspec

from incidents.store.batching import GroupCommitFront, stage
from incidents.store.batching import Outcome as _Outcome
from incidents.store.batching import Unit as _Unit
from incidents.store.migrations import apply_migrations
from incidents.store.plan import (
    AppendPlan,
    StoredIdentity,
    StreamRecord,
    TallyChanges,
    check_limit,
    format_time,
    history_streams,
    parse_time,
    recording_time,
    refreshed,
    tally_changes,
)
from incidents.store.protocol import (
    GENESIS_HASH,
    ConcurrencyError,
    CorruptStoreError,
    Direction,
    DuplicateEventError,
    ExpectedVersion,
    LogHead,
    MissionTally,
    ReadOnlyStoreError,
    RecordedEvent,
    StorageFullError,
    StoreBusyError,
    StoreUnavailableError,
    StreamRow,
    StreamRules,
    StreamSnapshot,
    category_of,
)

# How often a watcher looks at the file for appends made by other processes (seconds).
HEAD_POLL_INTERVAL = 0.5
# How many streams' rows (and how many bytes of their states) the writer keeps in memory
# between batches, so that a stream appended to again is not read back from the file.
KNOWN_STREAMS = 4096
KNOWN_STATE_BYTES = 16 * 2**20
# Larger than any version a stream can reach: "read backward from the end".
_LAST_VERSION = 2**62

_EVENT_COLUMNS = (
    "position, stream_id, version, event_id, type, data, metadata, occurred_at, recorded_at, hash"
)
_STREAM_COLUMNS = "stream_id, category, version, state, mission, is_open, last_position, updated_at"

_READ_HEAD = "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
_LOAD_IDENTITIES = (
    "SELECT event_id, stream_id, type, data, position, version FROM events"
    " WHERE event_id IN (SELECT value FROM json_each(?))"
)
# The writer reads a stream's tallies too (what to take away when they change).
_LOAD_STREAMS = (
    f"SELECT {_STREAM_COLUMNS}, tallies FROM streams"
    " WHERE stream_id IN (SELECT value FROM json_each(?))"
)
# The whole of each stream whose append folds with its history (a correction).
_LOAD_HISTORIES = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id IN (SELECT value FROM json_each(?))"
    " ORDER BY stream_id, version"
)
_INSERT_EVENT = (
    "INSERT INTO events (position, stream_id, version, event_id, type, data, metadata,"
    " occurred_at, recorded_at, category, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_STREAM = (
    f"INSERT INTO streams ({_STREAM_COLUMNS}, tallies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Two updates: naming mission and is_open only when they change spares their index upkeep.
_UPDATE_STREAM_STATE = (
    "UPDATE streams SET version = ?, state = ?, last_position = ?, updated_at = ?,"
    " tallies = ? WHERE stream_id = ?"
)
_UPDATE_STREAM = (
    "UPDATE streams SET version = ?, state = ?, mission = ?, is_open = ?, last_position = ?,"
    " updated_at = ?, tallies = ? WHERE stream_id = ?"
)
# Mission tallies: counts move by the plan's changes; a mission's latest rises to a changed
# stream's position, or is looked for again among its streams when one left it.
_ADD_TALLY = (
    "INSERT INTO mission_tallies (mission, label, count) VALUES (?, ?, ?)"
    " ON CONFLICT (mission, label) DO UPDATE SET count = count + excluded.count"
)
_RAISE_LATEST = (
    "INSERT INTO mission_latest (mission, position, recorded_at) VALUES (?, ?, ?)"
    " ON CONFLICT (mission) DO UPDATE SET position = excluded.position,"
    " recorded_at = excluded.recorded_at WHERE excluded.position > mission_latest.position"
)
_FORGET_LATEST = "DELETE FROM mission_latest WHERE mission = ?"
_FIND_LATEST = (
    "INSERT INTO mission_latest (mission, position, recorded_at)"
    " SELECT mission, last_position, updated_at FROM streams"
    " WHERE mission = ? AND tallies IS NOT NULL ORDER BY last_position DESC LIMIT 1"
)
# Every mission with a stream carrying tallies has its latest, so the missions come from
# mission_latest; all of it as one JSON document (one row for the reader to hand over).
_MISSION_TALLIES = (
    "SELECT json_group_array(json_array(mission, position, recorded_at, json(("
    "SELECT json_group_object(label, count) FROM mission_tallies AS t"
    " WHERE t.mission = l.mission AND count != 0)))) FROM mission_latest AS l"
)
_BACKFILL_STREAMS = (
    f"SELECT {_STREAM_COLUMNS}, tallies FROM streams WHERE stream_id > ?"
    " ORDER BY stream_id LIMIT 1000"
)
_SET_SNAPSHOT = "UPDATE streams SET state = ?, tallies = ? WHERE stream_id = ?"
# Every mission's tallies and latest counted afresh from the streams (a repair).
_RECOUNT_TALLIES = (
    "DELETE FROM mission_tallies",
    "INSERT INTO mission_tallies (mission, label, count)"
    " SELECT s.mission, j.value, count(*) FROM streams AS s, json_each(s.tallies) AS j"
    " WHERE s.mission IS NOT NULL AND s.tallies IS NOT NULL GROUP BY s.mission, j.value",
    "DELETE FROM mission_latest",
    # SQLite takes the bare updated_at from the row that has the max(last_position).
    "INSERT INTO mission_latest (mission, position, recorded_at)"
    " SELECT mission, max(last_position), updated_at FROM streams"
    " WHERE mission IS NOT NULL AND tallies IS NOT NULL GROUP BY mission",
)
_READ_FORWARD = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version >= ?"
    " ORDER BY version LIMIT ?"
)
_READ_BACKWARD = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version <= ?"
    " ORDER BY version DESC LIMIT ?"
)
_READ_BY_STREAM = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE (stream_id, version) > (?, ?)"
    " ORDER BY stream_id, version LIMIT ?"
)
_LIST_STREAMS_AFTER = (
    f"SELECT {_STREAM_COLUMNS} FROM streams WHERE stream_id > ? ORDER BY stream_id LIMIT ?"
)
_STREAM_VERSION = "SELECT version FROM streams WHERE stream_id = ?"
_SNAPSHOTS_REVISION = "SELECT value FROM store_counters WHERE name = 'snapshots_revision'"
_MOVE_SNAPSHOTS_REVISION = (
    "INSERT INTO store_counters (name, value) VALUES ('snapshots_revision', 1)"
    " ON CONFLICT (name) DO UPDATE SET value = value + 1"
)
_GET_STREAM = f"SELECT {_STREAM_COLUMNS} FROM streams WHERE stream_id = ?"
_GET_STREAMS = (
    f"SELECT {_STREAM_COLUMNS} FROM streams WHERE stream_id IN (SELECT value FROM json_each(?))"
)

_encode = msgspec.json.Encoder().encode
_decode_tallies = msgspec.json.Decoder(tuple[str, ...]).decode
_decode_mission_tallies = msgspec.json.Decoder(
    list[tuple[str, int, datetime, dict[str, int]]]
).decode


def _tallies_text(tallies: tuple[str, ...]) -> str | None:
    """The ``streams.tallies`` column: a JSON array, NULL for none (what _FIND_LATEST skips)."""
    return _encode(tallies).decode() if tallies else None


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
        msgspec.Raw(row[5]),
        msgspec.Raw(row[6]),
        _time(row[7]),
        _time(row[8]),
        row[9],
    )


def _record_from_row(row: Any) -> StreamRecord:
    # A row read with its tallies (_LOAD_STREAMS).
    return StreamRecord(
        row[1],
        row[2],
        StreamSnapshot(
            bytes(row[3]), row[4], bool(row[5]), () if row[8] is None else _decode_tallies(row[8])
        ),
        row[6],
        parse_time(row[7]),
    )


def _write_tallies(connection: sqlite3.Connection, changes: TallyChanges) -> None:
    """Apply tally changes, once the streams they come from are written."""
    if changes.counts:
        connection.executemany(
            _ADD_TALLY, [(mission, label, n) for (mission, label), n in changes.counts.items()]
        )
    if changes.latest:
        connection.executemany(
            _RAISE_LATEST,
            [
                (mission, position, format_time(recorded_at))
                for mission, (position, recorded_at) in changes.latest.items()
            ],
        )
    for mission in sorted(changes.stale):
        connection.execute(_FORGET_LATEST, (mission,))
        connection.execute(_FIND_LATEST, (mission,))


def _refresh_snapshots(rules: StreamRules, connection: sqlite3.Connection) -> None:
    """Migration 3's data, and migration 2's, on a file with streams: each stream's snapshot
    as the rules now encode it (3: without the events it used to carry) and its labels (2),
    from the rules folding no events onto it; then the missions' tallies from the labels
    that changed. A file that had 2 filled its labels then; one at 1 gets them here."""
    after = ""
    while rows := connection.execute(_BACKFILL_STREAMS, (after,)).fetchall():
        before = {row[0]: _record_from_row(row) for row in rows}
        changed = refreshed(rules, before)
        connection.executemany(
            _SET_SNAPSHOT,
            [
                (r.snapshot.state, _tallies_text(r.snapshot.tallies), stream_id)
                for stream_id, r in changed.items()
            ],
        )
        _write_tallies(connection, tally_changes(changed, before.get))
        after = rows[-1][0]


def _stream_row(row: Any) -> StreamRow:
    # What _record_from_row(row).row(row[0]) gives, without the two objects in between.
    return StreamRow(
        row[0],
        row[1],
        row[2],
        msgspec.Raw(row[3]),
        row[4],
        bool(row[5]),
        row[6],
        _time(row[7]),
    )


class _Writer:
    """The single write connection and the batch logic; every method runs on its thread."""

    def __init__(self, connection: sqlite3.Connection, rules: StreamRules) -> None:
        self._connection = connection
        self._rules = rules
        # What this writer knows of the file as of its last commit: the file's
        # data_version then, the head and its recorded_at, and the rows of the streams it
        # wrote or read lately (most recent last). Valid only while data_version says no
        # other connection has committed since; see _plan.
        self._known_version: int | None = None
        self._known_head: tuple[LogHead, datetime] | None = None
        self._known_streams: dict[str, StreamRecord] = {}
        self._known_bytes = 0

    @classmethod
    def connect(cls, path: str, rules: StreamRules, busy_timeout: float) -> _Writer:
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
            # One refresh does the data of both 2 and 3 (all migrations share a transaction).
            apply_migrations(connection, {3: functools.partial(_refresh_snapshots, rules)})
        except BaseException:
            connection.close()
            raise
        return cls(connection, rules)

    def close(self) -> None:
        """Close the write connection (WAL checkpoints on the last close)."""
        self._connection.close()

    def read_head(self) -> LogHead:
        """The head as the file has it now."""
        row = self._connection.execute(_READ_HEAD).fetchone()
        return LogHead(0, GENESIS_HASH) if row is None else LogHead(row[0], row[1])

    def write(self, units: Sequence[_Unit]) -> tuple[list[_Outcome], LogHead | None]:
        """Run a batch as one transaction; return each unit's outcome and the new head.

        The head is None when nothing could be committed. A failure of the database itself
        (lock not had within busy_timeout, I/O, COMMIT failing) fails every unit with
        StoreUnavailableError.
        """
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            return [_unavailable("the database is locked", error) for _ in units], None
        try:
            (data_version,) = connection.execute("PRAGMA data_version").fetchone()
            if data_version != self._known_version:
                self._forget()
            plan = self._plan(units, cached=True)
            outcomes = [stage(plan, unit) for unit in units]
            self._persist(plan)
            connection.execute("COMMIT")
        except sqlite3.IntegrityError:
            self._rollback()
            return self._write_one_by_one(units)
        except sqlite3.Error as error:
            self._rollback()
            return [_unavailable("the batch was not stored", error) for _ in units], None
        except BaseException:
            self._rollback()
            raise
        self._remember(data_version, plan)
        return outcomes, plan.head

    def _forget(self) -> None:
        """Drop what the writer knew of the file (another connection wrote, or a batch failed)."""
        self._known_version = None
        self._known_head = None
        self._known_streams.clear()
        self._known_bytes = 0

    def _remember(self, data_version: int, plan: AppendPlan) -> None:
        """Keep the head and the streams a committed plan wrote, for the next batch.

        The connection's own commits leave ``PRAGMA data_version`` as it was, so the next
        batch finds the same value unless another connection (another process, a repair)
        committed in between; then it reads everything from the file again.
        """
        self._known_version = data_version
        if plan.events:
            self._known_head = (plan.head, plan.recorded_at)
        # A batch that stored no event leaves the head, and its recorded_at, as they were;
        # if the head was not known, it is read from the file next time.
        known = self._known_streams
        size = self._known_bytes
        for stream_id, record in plan.changed_streams.items():
            previous = known.pop(stream_id, None)
            if previous is not None:
                size -= len(previous.snapshot.state)
            known[stream_id] = record
            size += len(record.snapshot.state)
        # Bounded, oldest first out, so the writer's memory does not grow with the log.
        while known and (len(known) > KNOWN_STREAMS or size > KNOWN_STATE_BYTES):
            oldest = next(iter(known))
            size -= len(known.pop(oldest).snapshot.state)
        self._known_bytes = size

    def _write_one_by_one(self, units: Sequence[_Unit]) -> tuple[list[_Outcome], LogHead | None]:
        """The batch again, each unit in a SAVEPOINT, turning constraint failures into errors."""
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            return [_unavailable("the database is locked", error) for _ in units], None
        try:
            plan = self._plan(())
            head = plan.head
            outcomes: list[_Outcome] = []
            for unit in units:
                connection.execute("SAVEPOINT unit")
                plan = self._plan([unit], head, plan)
                outcome = stage(plan, unit)
                if not isinstance(outcome, BaseException):
                    try:
                        self._persist(plan)
                    except sqlite3.IntegrityError as error:
                        connection.execute("ROLLBACK TO unit")
                        outcome = self._explain(unit, plan, error)
                    else:
                        head = plan.head
                connection.execute("RELEASE unit")
                outcomes.append(outcome)
            connection.execute("COMMIT")
            return outcomes, head
        except sqlite3.Error as error:
            self._rollback()
            return [_unavailable("the batch was not stored", error) for _ in units], None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        self._forget()
        if self._connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._connection.execute("ROLLBACK")

    def _plan(
        self,
        units: Sequence[_Unit],
        head: LogHead | None = None,
        previous: AppendPlan | None = None,
        *,
        cached: bool = False,
    ) -> AppendPlan:
        """An empty plan over the rows the units mention, read under the write lock.

        The head (and the last recorded_at) is re-read unless given: another process may
        have appended since the last batch. With ``cached``, the head and the streams this
        writer committed last are taken from memory when it still holds them (write() has
        checked that no other connection committed since).
        """
        connection = self._connection
        known = self._known_streams if cached else {}
        if previous is not None:
            recorded_at = previous.recorded_at
        elif cached and self._known_head is not None:
            head, last_recorded_at = self._known_head
            recorded_at = recording_time(last_recorded_at)
        else:
            row = connection.execute(_READ_HEAD).fetchone()
            if row is None:
                head, recorded_at = LogHead(0, GENESIS_HASH), recording_time(None)
            else:
                head, recorded_at = LogHead(row[0], row[1]), recording_time(parse_time(row[2]))
        event_ids: list[UUID] = []
        streams: dict[str, StreamRecord] = {}
        missing: set[str] = set()
        for unit in units:
            for request in unit.appends:
                stream_id = request.stream_id
                if stream_id not in streams:
                    record = known.pop(stream_id, None)
                    if record is None:
                        missing.add(stream_id)
                    else:
                        # Most recently used last; _remember puts it back if it changes.
                        known[stream_id] = streams[stream_id] = record
                for event in request.events:
                    event_ids.append(event.event_id)
            if unit.snapshots is not None:
                missing.update(id_ for id_ in unit.snapshots if id_ not in streams)
        identities: dict[UUID, StoredIdentity] = {}
        if event_ids:
            for found in connection.execute(_LOAD_IDENTITIES, (_encode(event_ids),)):
                identities[UUID(found[0])] = StoredIdentity(
                    found[1], found[2], bytes(found[3]), found[4], found[5]
                )
        if missing:
            for found in connection.execute(_LOAD_STREAMS, (_encode(sorted(missing)),)):
                streams[found[0]] = _record_from_row(found)
        # A correction folds with its stream's events: read under the lock like the rest
        # (the writer keeps no events in memory; the plan adds what it stages itself).
        wanted = history_streams(self._rules, (r for unit in units for r in unit.appends))
        # Every wanted stream gets one, empty if the log has none of its events yet (an
        # earlier unit of the batch may open it; the plan adds what that stages).
        histories: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in wanted}
        if wanted:
            for found in connection.execute(_LOAD_HISTORIES, (_encode(sorted(wanted)),)):
                histories[found[1]].append(_event_from_row(found))
        assert head is not None
        return AppendPlan(self._rules, head, recorded_at, identities, streams, histories)

    def _persist(self, plan: AppendPlan) -> None:
        """Write what the plan staged: its events, then the final row of each stream."""
        connection = self._connection
        recorded_at = plan.recorded_at
        recorded_text = format_time(recorded_at)
        if plan.events:
            connection.executemany(
                _INSERT_EVENT,
                [
                    (
                        event.position,
                        event.stream_id,
                        event.version,
                        str(event.event_id),
                        event.type,
                        event.data,
                        event.metadata,
                        recorded_text
                        if event.occurred_at is recorded_at
                        else format_time(event.occurred_at),
                        recorded_text,
                        category_of(event.stream_id),
                        event.hash,
                    )
                    for event in plan.events
                ],
            )
        inserts: list[tuple[object, ...]] = []
        state_updates: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        for stream_id, record in plan.changed_streams.items():
            snapshot = record.snapshot
            updated_at = (
                recorded_text
                if record.updated_at is recorded_at
                else format_time(record.updated_at)
            )
            before = plan.stored_stream(stream_id)
            tallies = _tallies_text(snapshot.tallies)
            if before is None:
                inserts.append(
                    (
                        stream_id,
                        record.category,
                        record.version,
                        snapshot.state,
                        snapshot.mission,
                        int(snapshot.is_open),
                        record.last_position,
                        updated_at,
                        tallies,
                    )
                )
            elif (
                before.snapshot.mission == snapshot.mission
                and before.snapshot.is_open == snapshot.is_open
            ):
                state_updates.append(
                    (
                        record.version,
                        snapshot.state,
                        record.last_position,
                        updated_at,
                        tallies,
                        stream_id,
                    )
                )
            else:
                updates.append(
                    (
                        record.version,
                        snapshot.state,
                        snapshot.mission,
                        int(snapshot.is_open),
                        record.last_position,
                        updated_at,
                        tallies,
                        stream_id,
                    )
                )
        if inserts:
            connection.executemany(_INSERT_STREAM, inserts)
        if state_updates:
            connection.executemany(_UPDATE_STREAM_STATE, state_updates)
        if updates:
            connection.executemany(_UPDATE_STREAM, updates)
        if plan.recounts:
            for statement in _RECOUNT_TALLIES:
                connection.execute(statement)
        else:
            _write_tallies(connection, tally_changes(plan.changed_streams, plan.stored_stream))
        if plan.replaces:
            connection.execute(_MOVE_SNAPSHOTS_REVISION)

    def _explain(
        self, unit: _Unit, plan: AppendPlan, error: sqlite3.IntegrityError
    ) -> ConcurrencyError | DuplicateEventError:
        """Say which append of a unit a UNIQUE constraint refused (after its rollback)."""
        connection = self._connection
        index_of = {}
        for index, request in reversed(list(enumerate(unit.appends))):
            index_of[request.stream_id] = index
        for event in plan.events:
            index = index_of.get(event.stream_id, 0)
            expected: ExpectedVersion = unit.appends[index].expected_version
            stored = connection.execute(
                "SELECT 1 FROM events WHERE event_id = ?", (str(event.event_id),)
            ).fetchone()
            if stored is not None:
                return DuplicateEventError(event.event_id, "already stored", index)
            (current,) = connection.execute(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?",
                (event.stream_id,),
            ).fetchone()
            if event.version <= current:
                return ConcurrencyError(event.stream_id, expected, current, index)
        first = unit.appends[0]
        (current,) = connection.execute(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?",
            (first.stream_id,),
        ).fetchone()
        conflict = ConcurrencyError(first.stream_id, first.expected_version, current)
        conflict.__cause__ = error
        return conflict


class SqliteEventStore(GroupCommitFront):
    """The event store in one SQLite file; open it with :meth:`open`, end with :meth:`close`."""

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
        self._writer = writer
        self._executor = executor
        self._readers = readers
        self._point = point
        self._pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._pool.put_nowait(reader)
        self._max_batch = max_batch
        self._batch_wait = batch_wait
        self._pending: list[_Unit] = []
        self._wakeup = asyncio.Event()
        self._changed = asyncio.Event()
        self._head_position = head.position
        self._polled_at = 0.0
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._batcher = asyncio.create_task(self._write_batches(), name="sqlite-event-writer")

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
    ) -> SqliteEventStore:
        """Open (creating if needed) the file at ``path`` and start the writer.

        ``max_batch`` caps how many appends one transaction takes, ``batch_wait`` is how
        long the writer waits for more once it has some, ``busy_timeout`` how long a write
        waits for another process's lock before StoreUnavailableError, ``readers`` the size
        of the read pool.
        """
        if max_batch < 1 or readers < 1 or batch_wait < 0 or busy_timeout < 0:
            raise ValueError("max_batch and readers must be positive, waits not negative")
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-event-writer")
        try:
            writer = await loop.run_in_executor(
                executor, _Writer.connect, path, rules, busy_timeout
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

    async def read_stream(
        self,
        stream_id: str,
        from_version: int | None = None,
        direction: Direction = "forward",
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Events of one stream from a version (inclusive) in either direction."""
        check_limit(limit)
        if direction == "forward":
            start = 1 if from_version is None else from_version
            rows = await self._fetch(_READ_FORWARD, (stream_id, start, limit))
        else:
            end = _LAST_VERSION if from_version is None else from_version
            rows = await self._fetch(_READ_BACKWARD, (stream_id, end, limit))
        return [_event_from_row(row) for row in rows]

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """The global log in position order, strictly after ``after``, optionally filtered.

        None or an empty sequence for ``types`` or ``categories`` means no filter.
        """
        check_limit(limit)
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
        return [_event_from_row(row) for row in await self._fetch(sql, parameters)]

    async def read_by_stream(
        self, after: tuple[str, int] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The whole log ordered by stream id, then version, after ``(stream id, version)``.

        Read along the UNIQUE (stream_id, version) index.
        """
        check_limit(limit)
        after_id, after_version = after if after is not None else ("", 0)
        rows = await self._fetch(_READ_BY_STREAM, (after_id, after_version, limit))
        return [_event_from_row(row) for row in rows]

    async def list_streams_after(
        self, after: str | None = None, limit: int = 1000
    ) -> list[StreamRow]:
        """Every stream's row ordered by stream id, after ``after``."""
        check_limit(limit)
        rows = await self._fetch(_LIST_STREAMS_AFTER, ("" if after is None else after, limit))
        return [_stream_row(row) for row in rows]

    async def snapshots_revision(self) -> int:
        """How many times replace_snapshots has committed on this file, from any process."""
        rows = await self._lookup(_SNAPSHOTS_REVISION, ())
        return int(rows[0][0]) if rows else 0

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version, 0 when it has no events."""
        rows = await self._lookup(_STREAM_VERSION, (stream_id,))
        return int(rows[0][0]) if rows else 0

    async def get_stream(self, stream_id: str) -> StreamRow | None:
        """The stream's folded state, None when it has no events."""
        rows = await self._lookup(_GET_STREAM, (stream_id,))
        return _stream_row(rows[0]) if rows else None

    async def get_streams(self, stream_ids: Sequence[str]) -> dict[str, StreamRow]:
        """The folded states of those of ``stream_ids`` that have events, by stream id."""
        if not stream_ids:
            return {}
        rows = await self._lookup(_GET_STREAMS, (_encode(list(stream_ids)),))
        return {row[0]: _stream_row(row) for row in rows}

    async def list_streams(
        self,
        category: str,
        mission: str | None = None,
        is_open: bool | None = None,
        after: str | None = None,
        limit: int | None = None,
        *,
        without_mission: bool = False,
    ) -> list[StreamRow]:
        """Folded states of a category's streams, filtered on the index columns, by id;
        the first ``limit`` after ``after`` when given; ``without_mission``: only those
        that name no mission."""
        if without_mission and mission is not None:
            raise ValueError("without_mission lists streams that name no mission: no mission")
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
            check_limit(limit)
            sql += " LIMIT ?"
            parameters.append(limit)
        return [_stream_row(row) for row in await self._fetch(sql, parameters)]

    async def mission_tallies(self) -> list[MissionTally]:
        """Per mission named by a stream with tallies: label counts and latest, by mission.

        Two small tables the writer keeps in the append's transaction, read as one JSON
        document.
        """
        rows = list(await self._fetch(_MISSION_TALLIES, ()))
        found = _decode_mission_tallies(rows[0][0]) if rows and rows[0][0] else []
        return [
            MissionTally(mission, counts, position, recorded_at)
            for mission, position, recorded_at, counts in sorted(
                found, key=lambda item: item[0].encode()
            )
        ]

    async def head(self) -> LogHead:
        """The last position and hash in the log (as the file has it, other processes too)."""
        rows = list(await self._fetch(_READ_HEAD, ()))
        return LogHead(rows[0][0], rows[0][1]) if rows else LogHead(0, GENESIS_HASH)

    async def watch(self) -> AsyncIterator[int]:
        """Yield the head position now, then again after appends are committed.

        Commits in this process wake watchers at once; the file's head is also polled every
        HEAD_POLL_INTERVAL seconds so that other processes' appends are seen. Positions that
        come in quick succession may be yielded once, as the latest. Ends on close().
        """
        last = -1
        with contextlib.suppress(StoreUnavailableError):
            await self._poll_head(force=True)
        while not self._closing:
            changed = self._changed
            if self._head_position > last:
                last = self._head_position
                yield last
                continue
            try:
                await asyncio.wait_for(changed.wait(), HEAD_POLL_INTERVAL)
            except TimeoutError:
                try:
                    await self._poll_head()
                except StoreUnavailableError:
                    if self._closing:
                        return
                    raise

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
        return await self._loop.run_in_executor(self._executor, self._writer.write, units)

    def _notify(self) -> None:
        """Wake every watcher; each waits on the Event current when it last looked."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _poll_head(self, *, force: bool = False) -> None:
        """Look at the file's head (shared by all watchers, at most once per interval)."""
        now = asyncio.get_running_loop().time()
        if not force and now - self._polled_at < HEAD_POLL_INTERVAL:
            return
        self._polled_at = now
        position = (await self.head()).position
        if position > self._head_position:
            self._head_position = position
            self._notify()

    async def _lookup(self, sql: str, parameters: Sequence[object]) -> list[Any]:
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

    async def _fetch(self, sql: str, parameters: Sequence[object]) -> Iterable[Any]:
        """Run one query on a pooled reader; a database failure is StoreUnavailableError."""
        if self._close_task is not None and self._close_task.done():
            raise StoreUnavailableError("the store is closed")
        reader = await self._pool.get()
        try:
            return await reader.execute_fetchall(sql, parameters)
        except (sqlite3.Error, ValueError) as error:
            raise _unavailable("the read failed", error) from error
        finally:
            self._pool.put_nowait(reader)
