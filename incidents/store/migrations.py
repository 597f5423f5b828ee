"""The SQLite store's schema, as numbered migrations recorded in ``schema_version``.

Each migration runs once, inside the same ``BEGIN IMMEDIATE`` transaction that records it,
so two processes opening a fresh file at the same time cannot both apply it. A migration
that needs the domain to fill in data (2: which labels each stream carries; 3: snapshots
re-encoded without the events they used to carry) gets it from a ``fill`` the store passes
in, run in that same transaction; the store's fill for 3 does 2's data as well.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from incidents.store.plan import format_time


class Migration:
    """One step of the schema: its number, what it does, and its statements."""

    __slots__ = ("description", "statements", "version")

    def __init__(self, version: int, description: str, statements: tuple[str, ...]) -> None:
        self.version = version
        self.description = description
        self.statements = statements


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events and streams",
        (
            """
            CREATE TABLE events (
                position INTEGER PRIMARY KEY,
                stream_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                event_id TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                category TEXT NOT NULL,
                data BLOB NOT NULL,
                metadata BLOB NOT NULL,
                occurred_at TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                hash TEXT NOT NULL,
                UNIQUE (stream_id, version)
            )
            """,
            "CREATE INDEX events_by_type ON events (type, position)",
            "CREATE INDEX events_by_category ON events (category, position)",
            """
            CREATE TABLE streams (
                stream_id TEXT PRIMARY KEY,
                category TEXT NOT NULL,
                version INTEGER NOT NULL,
                state BLOB NOT NULL,
                mission TEXT,
                is_open INTEGER NOT NULL,
                last_position INTEGER NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            # list_streams filters on category, mission and is_open and sorts by stream_id:
            # with stream_id last, the filtered rows come from the index already in order.
            "CREATE INDEX streams_by_category ON streams (category, is_open, stream_id)",
            "CREATE INDEX streams_by_mission ON streams (mission, category, is_open, stream_id)",
        ),
    ),
    Migration(
        2,
        "mission tallies",
        (
            # The stream's labels (a JSON array; NULL for none), so that the writer knows
            # what to take away when they change. A file with streams already gets them
            # from the rules in the same transaction (the store's fill, run with 3).
            "ALTER TABLE streams ADD COLUMN tallies TEXT",
            """
            CREATE TABLE mission_tallies (
                mission TEXT NOT NULL,
                label TEXT NOT NULL,
                count INTEGER NOT NULL,
                PRIMARY KEY (mission, label)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE mission_latest (
                mission TEXT PRIMARY KEY,
                position INTEGER NOT NULL,
                recorded_at TEXT NOT NULL
            )
            """,
        ),
    ),
    # States no longer carry their stream's events: the store's fill for 3 re-encodes every
    # snapshot through the rules (no statement: the columns stay as they are).
    Migration(3, "snapshots without their events", ()),
    Migration(
        4,
        "store counters",
        (
            # snapshots_revision: moved by every replace_snapshots (a repair), which leaves no
            # event behind, so that readers holding states know to read them again.
            """
            CREATE TABLE store_counters (
                name TEXT PRIMARY KEY,
                value INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def apply_migrations(
    connection: sqlite3.Connection,
    fill: Mapping[int, Callable[[sqlite3.Connection], None]] | None = None,
) -> list[int]:
    """Apply the migrations the file lacks; return the versions applied (empty if none).

    ``connection`` must be in autocommit mode (``isolation_level=None``). ``fill`` maps a
    migration's version to what fills in its data after its statements, in its transaction.
    Raises RuntimeError for a file written by a newer version of this code.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        current = 0 if row is None or row[0] is None else int(row[0])
        if current > LATEST_VERSION:
            raise RuntimeError(
                f"the database is at schema version {current}; this code knows up to "
                f"{LATEST_VERSION}"
            )
        applied: list[int] = []
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for statement in migration.statements:
                connection.execute(statement)
            if fill is not None and migration.version in fill:
                fill[migration.version](connection)
            connection.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, format_time(datetime.now(UTC))),
            )
            applied.append(migration.version)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return applied
