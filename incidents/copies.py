"""Copies of a log that prove themselves: backup, export and import.

``backup`` copies a SQLite file with SQLite's online backup API: a consistent snapshot while
the service writes, page by page (for PostgreSQL, ``pg_dump``; docs/security.md says how).

``export`` writes the log as NDJSON, one envelope a line in position order, each with its
hash. ``import`` reads such a file into an empty log: it checks each line's hash against the
chain as it reads and refuses the file, naming the line, at the first that does not hold,
and nothing is kept. The events are written exactly as exported (positions,
times and hashes kept), all in one transaction, so an import killed midway leaves nothing;
the streams' states are then rebuilt from them by replay. A log moved SQLite -> PostgreSQL
-> SQLite ends with the head hash it started with.

The store has no path for writing given envelopes, so the import writes the ``events``
table here, per engine, after opening the store once so that its migrations have made the
tables.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import msgspec

from incidents.core.streams import category_of, is_valid_stream_id
from incidents.store.chain import event_hash
from incidents.store.plan import format_time
from incidents.store.protocol import GENESIS_HASH, EventStore, RecordedEvent

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(RecordedEvent).decode
EXPORT_PAGE = 5000
IMPORT_BATCH = 5000


class ImportRefusedError(ValueError):
    """An export file that is not a whole, unaltered chain (the message names the line)."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {reason}")


def backup_sqlite(source: str, destination: Path, progress: Callable[[int, int], None]) -> int:
    """Copy the SQLite log at ``source`` to ``destination`` (which must not exist) with the
    online backup API; returns the pages copied. The copy is created readable by its owner
    only, as the log is."""
    if destination.exists():
        raise FileExistsError(f"{destination} exists: a backup never overwrites a file")
    previous = os.umask(0o077)
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(destination)) as dst,
        ):
            total = 0

            def step(_: int, remaining: int, pages: int) -> None:
                nonlocal total
                total = pages
                progress(pages - remaining, pages)

            src.backup(dst, pages=1024, progress=step)
    finally:
        os.umask(previous)
    return total


async def export_log(
    store: EventStore, out: IO[bytes], progress: Callable[[int], None] | None = None
) -> int:
    """Write every event of ``store`` to ``out`` as NDJSON; returns how many."""
    after = 0
    count = 0
    while page := await store.read_all(after=after, limit=EXPORT_PAGE):
        out.write(b"".join(_encode(event) + b"\n" for event in page))
        after = page[-1].position
        count += len(page)
        if progress is not None:
            progress(len(page))
    return count


def checked_events(lines: Iterable[bytes]) -> Iterator[RecordedEvent]:
    """The events of an export, each checked against the chain as it is read;
    ImportRefusedError naming the first line that does not hold."""
    previous = GENESIS_HASH
    expected_position = 1
    versions: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ImportRefusedError(number, "an empty line: an export has one event a line")
        try:
            event = _decode(line)
        except msgspec.DecodeError as error:
            raise ImportRefusedError(number, f"not an exported event: {error}") from None
        if event.position != expected_position:
            raise ImportRefusedError(
                number, f"position {event.position} where {expected_position} comes next"
            )
        if not is_valid_stream_id(event.stream_id):
            raise ImportRefusedError(number, f"{event.stream_id!r} is not a stream id")
        version = versions.get(event.stream_id, 0) + 1
        if event.version != version:
            raise ImportRefusedError(
                number, f"{event.stream_id} version {event.version} where {version} comes next"
            )
        if event_hash(previous, event) != event.hash:
            raise ImportRefusedError(
                number, "the hash does not hold: the event was altered, or one before it"
            )
        versions[event.stream_id] = version
        previous = event.hash
        expected_position += 1
        yield event


# One row a stream, with its version and place but an empty state: replay --repair (run
# right after) folds every stream's events into its real state and recounts the tallies.
_PLACEHOLDER_STREAMS = (
    "INSERT INTO {streams} (stream_id, category, version, state, mission, is_open,"
    " last_position, updated_at)"
    " SELECT stream_id, category, max(version), {empty}, NULL, false, max(position),"
    " max(recorded_at) FROM {events} GROUP BY stream_id, category"
)


def _row(event: RecordedEvent) -> tuple[Any, ...]:
    return (
        event.position,
        event.stream_id,
        event.version,
        event.event_id,
        event.type,
        category_of(event.stream_id),
        bytes(event.data),
        bytes(event.metadata),
        event.occurred_at,
        event.recorded_at,
        event.hash,
    )


def import_sqlite(
    path: str, events: Iterable[RecordedEvent], progress: Callable[[int], None]
) -> int:
    """Write ``events`` into the empty ``events`` table of the SQLite log at ``path``, in one
    transaction; returns how many."""
    count = 0
    with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            if connection.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
                raise ValueError("the log is not empty: import only into a new log")
            batch: list[tuple[Any, ...]] = []
            for event in events:
                position, stream, version, event_id, type_, category, data, meta, at, rec, hash_ = (
                    _row(event)
                )
                row = [position, stream, version, str(event_id), type_, category, data, meta]
                row += [format_time(at), format_time(rec), hash_]
                batch.append(tuple(row))
                if len(batch) >= IMPORT_BATCH:
                    count += _sqlite_batch(connection, batch, progress)
            count += _sqlite_batch(connection, batch, progress)
            connection.execute(
                _PLACEHOLDER_STREAMS.format(events="events", streams="streams", empty="X'7B7D'")
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return count


def _sqlite_batch(
    connection: sqlite3.Connection, batch: list[tuple[Any, ...]], progress: Callable[[int], None]
) -> int:
    connection.executemany(
        "INSERT INTO events (position, stream_id, version, event_id, type, category, data,"
        " metadata, occurred_at, recorded_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    done = len(batch)
    progress(done)
    batch.clear()
    return done


async def import_postgres(
    url: str, schema: str | None, events: Iterable[RecordedEvent], progress: Callable[[int], None]
) -> int:
    """Write ``events`` into the empty ``events`` table of the PostgreSQL log, in one
    transaction; returns how many."""
    import asyncpg

    table = f'"{schema or "public"}".events'
    connection = await asyncpg.connect(url)
    count = 0
    try:
        async with connection.transaction():
            await connection.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            if await connection.fetchval(f"SELECT 1 FROM {table} LIMIT 1") is not None:
                raise ValueError("the log is not empty: import only into a new log")
            batch: list[tuple[Any, ...]] = []
            for event in events:
                batch.append(_row(event))
                if len(batch) >= IMPORT_BATCH:
                    count += await _postgres_batch(connection, table, batch, progress)
            count += await _postgres_batch(connection, table, batch, progress)
            streams = f'"{schema or "public"}".streams'
            await connection.execute(
                _PLACEHOLDER_STREAMS.format(events=table, streams=streams, empty="'\\x7b7d'::bytea")
            )
    finally:
        await connection.close()
    return count


async def _postgres_batch(
    connection: Any, table: str, batch: list[tuple[Any, ...]], progress: Callable[[int], None]
) -> int:
    await connection.copy_records_to_table(
        table.split(".")[1].strip('"'),
        schema_name=table.split(".")[0].strip('"'),
        records=batch,
        columns=[
            "position",
            "stream_id",
            "version",
            "event_id",
            "type",
            "category",
            "data",
            "metadata",
            "occurred_at",
            "recorded_at",
            "hash",
        ],
    )
    done = len(batch)
    progress(done)
    batch.clear()
    return done
