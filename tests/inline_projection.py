"""A small inline projection for the store's tests: one row per stream, one per event.

``counts_streams`` holds each stream's version, mission, open flag and whether the row was
written by a rebuild; ``counts_events`` one row per event of the types it handles ("Noted",
"Unwelcome", "Explode": not "Closed"), with its position, stream, type and times. Its table
refuses "Unwelcome" events (a CHECK constraint), and an "Explode" event makes it run a
statement on a table that does not exist: a failure of the database, not of one unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from incidents.store.inline import InlineBatch, read_time, time_value
from incidents.store.migrations import Migration
from incidents.store.writer import Statement

_TABLES = {
    "sqlite": (
        "CREATE TABLE {schema}.counts_streams (stream_id TEXT PRIMARY KEY,"
        " version INTEGER NOT NULL, mission TEXT, is_open INTEGER NOT NULL,"
        " rebuilt INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE {schema}.counts_events (position INTEGER PRIMARY KEY,"
        " stream_id TEXT NOT NULL, type TEXT NOT NULL CHECK (type <> 'Unwelcome'),"
        " occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL)",
    ),
    "postgres": (
        "CREATE TABLE {schema}.counts_streams (stream_id text PRIMARY KEY,"
        " version bigint NOT NULL, mission text, is_open boolean NOT NULL,"
        " rebuilt boolean NOT NULL)",
        "CREATE TABLE {schema}.counts_events (position bigint PRIMARY KEY,"
        " stream_id text NOT NULL, type text NOT NULL CHECK (type <> 'Unwelcome'),"
        " occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL)",
    ),
}

_SQL = {
    "sqlite": {
        "reset": "DELETE FROM {schema}.counts_events; DELETE FROM {schema}.counts_streams;",
        "upsert_streams": (
            "INSERT INTO {schema}.counts_streams VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,"
            " mission = excluded.mission, is_open = excluded.is_open,"
            " rebuilt = excluded.rebuilt"
        ),
        "insert_events": "INSERT INTO {schema}.counts_events VALUES (?, ?, ?, ?, ?)",
        "explode": "INSERT INTO {schema}.counts_nowhere VALUES (?)",
        "streams": (
            "SELECT stream_id, version, mission, is_open, rebuilt"
            " FROM {schema}.counts_streams ORDER BY stream_id"
        ),
        "events": (
            "SELECT position, stream_id, type, occurred_at, recorded_at"
            " FROM {schema}.counts_events WHERE position > ? ORDER BY position"
        ),
    },
    "postgres": {
        "reset": "DELETE FROM {schema}.counts_events; DELETE FROM {schema}.counts_streams;",
        "upsert_streams": (
            "INSERT INTO {schema}.counts_streams SELECT * FROM unnest($1::text[],"
            " $2::bigint[], $3::text[], $4::boolean[], $5::boolean[])"
            " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,"
            " mission = excluded.mission, is_open = excluded.is_open,"
            " rebuilt = excluded.rebuilt"
        ),
        "insert_events": (
            "INSERT INTO {schema}.counts_events SELECT * FROM unnest($1::bigint[],"
            " $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])"
        ),
        "explode": "INSERT INTO {schema}.counts_nowhere VALUES ($1)",
        "streams": (
            "SELECT stream_id, version, mission, is_open, rebuilt"
            " FROM {schema}.counts_streams ORDER BY stream_id"
        ),
        "events": (
            "SELECT position, stream_id, type, occurred_at, recorded_at"
            " FROM {schema}.counts_events WHERE position > $1 ORDER BY position"
        ),
    },
}


class CountsProjection:
    """The test projection (see the module)."""

    name = "counts"
    handles = frozenset({"Noted", "Unwelcome", "Explode"})
    rebuild_from = "events"

    def sql(self, engine: str) -> Mapping[str, str]:
        return _SQL[engine]

    def migrations(self, engine: str) -> Sequence[Migration]:
        return (Migration(1, "counts tables", _TABLES[engine]),)

    def handle(self, batch: InlineBatch) -> Iterable[Statement]:
        engine = batch.engine
        streams = batch.streams()
        rows = [
            (stream_id, after.version, after.mission, after.is_open, batch.rebuilding)
            for stream_id, (_, after) in streams.items()
        ]
        if engine == "sqlite":
            rows = [(*row[:3], int(row[3]), int(row[4])) for row in rows]
        if rows:
            yield Statement("upsert_streams", rows=rows)
        if batch.events:
            yield Statement(
                "insert_events",
                rows=[
                    (
                        event.position,
                        event.stream_id,
                        event.type,
                        time_value(engine, event.occurred_at),
                        time_value(engine, event.recorded_at),
                    )
                    for event in batch.events
                ],
            )
        if any(event.type == "Explode" for event in batch.events):
            yield Statement("explode", (1,))


StreamLine = tuple[str, int, str | None, bool, bool]
EventLine = tuple[int, str, str, datetime, datetime]


def stream_lines(engine: str, rows: Sequence[tuple[object, ...]]) -> list[StreamLine]:
    """The ``streams`` read as plain values, the same on every engine."""
    return [
        (str(r[0]), int(str(r[1])), None if r[2] is None else str(r[2]), bool(r[3]), bool(r[4]))
        for r in rows
    ]


def event_lines(engine: str, rows: Sequence[tuple[object, ...]]) -> list[EventLine]:
    """The ``events`` read as plain values, the same on every engine."""
    return [
        (int(str(r[0])), str(r[1]), str(r[2]), read_time(engine, r[3]), read_time(engine, r[4]))
        for r in rows
    ]
