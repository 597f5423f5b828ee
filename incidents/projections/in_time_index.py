"""The bitemporal index of views in time: every stream's state after each of its versions,
kept in the append's transaction (an inline projection registered with the store).

Each version of a stream is a row of ``in_time_versions`` with the version's position and
recorded time, the stream's running latest occurred time up to it (the state's
``last_event_at``), the same two times of the next version (far in the future for the last
one), and the state after it with its ``mission`` and ``is_open``. A stream is *bent* from
its first event that is a correction or occurred before one already logged on it: that
event's recorded time is kept in ``in_time_bent``.

For a stream not bent by ``known_at`` K, the events a moment (T, K) keeps are a prefix of
it: those recorded by K (a prefix, positions being recorded in order) that occurred by T
(a prefix too, occurred times rising along it). The view is the state of the last version
of both prefixes, the one row with ``occurred <= T`` and ``recorded_at <= K`` whose next
version has ``next_occurred > T`` or ``next_recorded > K``; found by :data:`READS`, ranges of
an index, never a fold. A stream bent by K is folded from its events
(:func:`incidents.domain.rules.fold_in_time`), as before the index; so are streams of a log
whose store does not run the projection.

States after each event of an append come from the rules, one event at a time, from the
stream's row before the append (the last one is the row after it); none are kept from a
stream's bend on (those rows are never read for a state).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import msgspec

from incidents.domain.events import CORRECTION_TYPES
from incidents.domain.rules import DomainRules
from incidents.store.inline import InlineBatch, StreamChange, time_value
from incidents.store.migrations import Migration
from incidents.store.protocol import RuleViolation, StreamSnapshot
from incidents.store.writer import Statement

NAME = "in_time"
# What "no next version" is in the next_* columns: later than any time or position.
FAR = datetime(9999, 12, 31, tzinfo=UTC)
# What a moment with no bound on a side reads as: later than any time the log holds, earlier
# than FAR.
UNBOUNDED = datetime(9999, 12, 30, tzinfo=UTC)
_CORRECTIONS = frozenset(CORRECTION_TYPES.values())

# Its tables, for either engine: SQLite names an index's schema on the index, PostgreSQL on
# its table.
_TABLES = """
CREATE TABLE {schema}.in_time_versions (
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    category TEXT NOT NULL,
    mission TEXT,
    is_open {small} NOT NULL,
    position {big} NOT NULL,
    recorded_at {time} NOT NULL,
    occurred {time} NOT NULL,
    next_recorded {time} NOT NULL DEFAULT '{far}',
    next_occurred {time} NOT NULL DEFAULT '{far}',
    state {blob},
    PRIMARY KEY (stream_id, version)
);
CREATE INDEX {index}in_time_by_recorded
    ON {table}in_time_versions (category, is_open, recorded_at, next_recorded, occurred);
CREATE INDEX {index}in_time_by_next_recorded
    ON {table}in_time_versions (category, is_open, next_recorded, recorded_at, occurred);
CREATE INDEX {index}in_time_by_next_occurred
    ON {table}in_time_versions (category, is_open, next_occurred, occurred, next_recorded);
CREATE INDEX {index}in_time_by_mission
    ON {table}in_time_versions (mission, category, is_open, occurred, recorded_at);
CREATE TABLE {schema}.in_time_bent (
    stream_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    recorded_at {time} NOT NULL
);
CREATE INDEX {index}in_time_bent_by_category ON {table}in_time_bent (category, recorded_at);
"""
_TYPES = {
    "sqlite": {
        "small": "INTEGER",
        "big": "INTEGER",
        "time": "TEXT",
        "blob": "BLOB",
        "index": "{schema}.",
        "table": "",
    },
    "postgres": {
        "small": "SMALLINT",
        "big": "BIGINT",
        "time": "TIMESTAMPTZ",
        "blob": "BYTEA",
        "index": "",
        "table": "{schema}.",
    },
}


def _tables(engine: str) -> str:
    far = time_value(engine, FAR)
    text = far if isinstance(far, str) else FAR.isoformat()
    return _TABLES.format(schema="{schema}", far=text, **_TYPES[engine])


# What a read gives for each stream: enough for a StreamInTime.
_COLUMNS = "v.stream_id, v.version, v.position, v.recorded_at, v.state"
# A stream bent by K is folded instead (its rows are not the view).
_NOT_BENT = (
    "NOT EXISTS (SELECT 1 FROM {schema}.in_time_bent b "
    "WHERE b.stream_id = v.stream_id AND b.recorded_at <= ?K)"
)

# The reads, with ?T (as_of), ?K (known_at), ?C (category), ?M (mission) and {opens} (the
# is_open values kept: "1", or "0, 1"). Each finds, for the streams not bent by K, the row of
# the last version kept at (T, K), in one of two disjoint parts:
# - known: the last version recorded by K (next_recorded > K) if it occurred by T;
# - crossed: a version that occurred by T whose next one, recorded by K too, occurred after T.
# "known" reads the range of the index that is the smaller when K is early (recorded_at <= K)
# or late (next_recorded > K); "crossed" the versions whose next occurred after T.
_READS = {
    "known_early": (
        "SELECT {columns} FROM {schema}.in_time_versions v {by_recorded} "
        "WHERE v.category = ?C AND v.is_open IN ({opens}) AND v.recorded_at <= ?K "
        "AND v.next_recorded > ?K AND v.occurred <= ?T AND {not_bent}"
    ),
    "known_late": (
        "SELECT {columns} FROM {schema}.in_time_versions v {by_next_recorded} "
        "WHERE v.category = ?C AND v.is_open IN ({opens}) AND v.next_recorded > ?K "
        "AND v.recorded_at <= ?K AND v.occurred <= ?T AND {not_bent}"
    ),
    "crossed": (
        "SELECT {columns} FROM {schema}.in_time_versions v {by_next_occurred} "
        "WHERE v.category = ?C AND v.is_open IN ({opens}) AND v.next_occurred > ?T "
        "AND v.occurred <= ?T AND v.next_recorded <= ?K AND {not_bent}"
    ),
    # One mission's streams of a category (every version of them: a mission's are few).
    "of_mission": (
        "SELECT {columns} FROM {schema}.in_time_versions v {by_mission} "
        "WHERE v.mission = ?M AND v.category = ?C AND v.is_open IN ({opens}) "
        "AND v.occurred <= ?T AND v.recorded_at <= ?K "
        "AND (v.next_occurred > ?T OR v.next_recorded > ?K) AND {not_bent}"
    ),
    # The streams bent by K, to be folded: of a category, or of a category that some
    # version of named a mission.
    "bent": (
        "SELECT b.stream_id FROM {schema}.in_time_bent b "
        "WHERE b.category = ?C AND b.recorded_at <= ?K"
    ),
    "bent_of_mission": (
        "SELECT DISTINCT b.stream_id FROM {schema}.in_time_versions v {by_mission} "
        "JOIN {schema}.in_time_bent b ON b.stream_id = v.stream_id "
        "WHERE v.mission = ?M AND v.category = ?C AND b.recorded_at <= ?K"
    ),
}

_WRITES_SQLITE = {
    "insert_versions": (
        "INSERT INTO {schema}.in_time_versions (stream_id, version, category, mission, "
        "is_open, position, recorded_at, occurred, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "link_versions": (
        "UPDATE {schema}.in_time_versions SET next_recorded = ?, next_occurred = ? "
        "WHERE stream_id = ? AND version = ?"
    ),
    "insert_bent": (
        "INSERT INTO {schema}.in_time_bent (stream_id, category, recorded_at) "
        "VALUES (?, ?, ?) ON CONFLICT (stream_id) DO NOTHING"
    ),
    "replace_states": (
        "UPDATE {schema}.in_time_versions SET state = ?, mission = ?, is_open = ? "
        "WHERE stream_id = ? AND version = ?"
    ),
    "reset": "DELETE FROM {schema}.in_time_versions; DELETE FROM {schema}.in_time_bent;",
}

_WRITES_POSTGRES = {
    "insert_versions": (
        "INSERT INTO {schema}.in_time_versions (stream_id, version, category, mission, "
        "is_open, position, recorded_at, occurred, state) SELECT * FROM unnest($1::text[], "
        "$2::integer[], $3::text[], $4::text[], $5::smallint[], $6::bigint[], "
        "$7::timestamptz[], $8::timestamptz[], $9::bytea[])"
    ),
    "link_versions": (
        "UPDATE {schema}.in_time_versions v SET next_recorded = u.next_recorded, "
        "next_occurred = u.next_occurred FROM unnest($1::timestamptz[], $2::timestamptz[], "
        "$3::text[], $4::integer[]) AS u (next_recorded, next_occurred, stream_id, version) "
        "WHERE v.stream_id = u.stream_id AND v.version = u.version"
    ),
    "insert_bent": (
        "INSERT INTO {schema}.in_time_bent (stream_id, category, recorded_at) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) "
        "ON CONFLICT (stream_id) DO NOTHING"
    ),
    "replace_states": (
        "UPDATE {schema}.in_time_versions v SET state = u.state, mission = u.mission, "
        "is_open = u.is_open FROM unnest($1::bytea[], $2::text[], $3::smallint[], $4::text[], "
        "$5::integer[]) AS u (state, mission, is_open, stream_id, version) "
        "WHERE v.stream_id = u.stream_id AND v.version = u.version"
    ),
    "reset": "DELETE FROM {schema}.in_time_versions; DELETE FROM {schema}.in_time_bent;",
}

_NAMED = re.compile(r"\?([TKCM])")


def read_name(read: str, only_open: bool) -> str:
    """The name of a read for the streams open at the moment only, or for all."""
    return f"{read}_{'open' if only_open else 'all'}"


def read_parameters(
    sql: str, engine: str, values: Mapping[str, object]
) -> tuple[str, tuple[object, ...]]:
    """A read's SQL with its named places (``?T``...) turned into the engine's positional
    ones, and the values in that order."""
    order: list[str] = []

    def place(match: re.Match[str]) -> str:
        order.append(match.group(1))
        return "?" if engine == "sqlite" else f"${len(order)}"

    text = _NAMED.sub(place, sql)
    return text, tuple(values[name] for name in order)


# SQLite's planner has no statistics to choose between the indexes by: each read names its
# own. PostgreSQL's has them.
_INDEXES = ("by_recorded", "by_next_recorded", "by_next_occurred", "by_mission")


def _reads(engine: str) -> dict[str, str]:
    reads: dict[str, str] = {}
    indexes = {
        index: f"INDEXED BY in_time_{index}" if engine == "sqlite" else "" for index in _INDEXES
    }
    for name, template in _READS.items():
        for only_open in (True, False):
            text = template.format(
                columns=_COLUMNS,
                schema="{schema}",
                opens="1" if only_open else "0, 1",
                not_bent=_NOT_BENT,
                **indexes,
            )
            reads[read_name(name, only_open)], _ = read_parameters(
                text, engine, dict.fromkeys("TKCM")
            )
    return reads


def read_order(read: str) -> str:
    """The names of a read's parameters, in the order the engine takes them."""
    template = _READS[read].format(
        columns=_COLUMNS,
        schema="",
        opens="1",
        not_bent=_NOT_BENT.format(schema=""),
        **dict.fromkeys(_INDEXES, ""),
    )
    return "".join(_NAMED.findall(template))


class _LatestOccurred(msgspec.Struct):
    """The one field of a state the index needs: its latest occurred time."""

    last_event_at: datetime


_decode_latest = msgspec.json.Decoder(_LatestOccurred).decode


class InTimeIndex:
    """The inline projection (see the module): ``in_time`` tables, ``handle`` per batch."""

    name = NAME
    handles: frozenset[str] = frozenset()
    # A rebuild folds the log event by event: every version's state.
    rebuild_from = "events"

    def __init__(self, rules: DomainRules | None = None) -> None:
        self._rules = rules if rules is not None else DomainRules()

    def sql(self, engine: str) -> Mapping[str, str]:
        """Its writes and reads for ``engine``."""
        writes = _WRITES_SQLITE if engine == "sqlite" else _WRITES_POSTGRES
        return {**writes, **_reads(engine)}

    def migrations(self, engine: str) -> Sequence[Migration]:
        """Its tables and indexes; a log that already has events is indexed when it opens."""
        return (Migration(1, "versions in time", (_tables(engine),), rebuilds=True),)

    def handle(self, batch: InlineBatch) -> Iterable[Statement]:
        """One row per event appended, the previous version linked to it, and the streams
        the batch bends."""
        engine = batch.engine
        versions: list[tuple[object, ...]] = []
        links: list[tuple[object, ...]] = []
        bent: dict[str, tuple[object, ...]] = {}
        replaced: list[tuple[object, ...]] = []
        for change in batch.changes:
            if not change.events:
                after = change.after
                replaced.append(
                    (
                        bytes(after.state),
                        after.mission,
                        int(after.is_open),
                        after.stream_id,
                        after.version,
                    )
                )
                continue
            for row, link, bend in self._versions(change, engine):
                versions.append(row)
                if link is not None:
                    links.append(link)
                if bend is not None and change.stream_id not in bent:
                    bent[change.stream_id] = bend
        if versions:
            yield Statement("insert_versions", rows=versions)
        if links:
            yield Statement("link_versions", rows=links)
        if bent:
            yield Statement("insert_bent", rows=list(bent.values()))
        if replaced:
            yield Statement("replace_states", rows=replaced)

    def _versions(
        self, change: StreamChange, engine: str
    ) -> Iterable[tuple[tuple[object, ...], tuple[object, ...] | None, tuple[object, ...] | None]]:
        """Each event's row, the link of the version before it, and the bend it makes."""
        stream_id, before, after = change.stream_id, change.before, change.after
        category = after.category
        snapshot = None if before is None else StreamSnapshot(bytes(before.state))
        latest = None if before is None else _decode_latest(before.state).last_event_at
        straight = True
        last = len(change.events) - 1
        for index, event in enumerate(change.events):
            straight = straight and event.type not in _CORRECTIONS
            straight = straight and (latest is None or event.occurred_at >= latest)
            state: bytes | None = None
            mission, is_open = after.mission, after.is_open
            if index == last:
                state = bytes(after.state)
                latest = _decode_latest(after.state).last_event_at
            elif straight:
                try:
                    snapshot = self._rules.apply(stream_id, snapshot, (event,))
                except RuleViolation:
                    straight = False
                else:
                    state, mission, is_open = snapshot.state, snapshot.mission, snapshot.is_open
                    latest = _decode_latest(snapshot.state).last_event_at
            if latest is None or event.occurred_at > latest:
                latest = event.occurred_at
            recorded = time_value(engine, event.recorded_at)
            occurred = time_value(engine, latest)
            row = (
                stream_id,
                event.version,
                category,
                mission,
                int(is_open),
                event.position,
                recorded,
                occurred,
                state if straight else None,
            )
            link = (recorded, occurred, stream_id, event.version - 1) if event.version > 1 else None
            bend = None if straight else (stream_id, category, recorded)
            yield row, link, bend
