"""The bitemporal index of views in time: where every stream stood after each of its
versions, kept in the append's transaction (an inline projection registered with the store).

Each version of a stream is a narrow row of ``in_time_versions``: the version's position and
recorded time, the stream's running latest occurred time up to it (the state's
``last_event_at``), the same two times of the next version (far in the future for the last
one), the state's ``mission`` and ``is_open``, and a summary of the state: what the global
views count, order or filter over every stream of a moment (:func:`summarise`: a protest's
``lodged_at`` as ``rank`` and its open demands as ``amount``; a ``place`` with its parties,
an incident's dating and location, the fields a note's views read, a mission's whole
state). The state of another stream a view shows is folded from the stream's events up to
the version. A stream is *bent* from its first event that is a correction, occurred
before one already logged on it, or may have occurred before its occurred time (an
``unknown`` precision: its span begins at its ``occurred_after`` or is open, so the rule
``possible`` keeps it before that time): that event's recorded time is kept in
``in_time_bent``. The rows keep events by their occurred time, which is the rule
``possible`` for every other event (its span begins there); a view by ``certain`` is
folded (:class:`incidents.projections.in_time.PastViews`).

For a stream not bent by ``known_at`` K, the events a moment (T, K) keeps are a prefix of
it: those recorded by K (a prefix, positions being recorded in order) that occurred by T
(a prefix too, occurred times rising along it). The view is the last version of both
prefixes, the one row with ``occurred <= T`` and ``recorded_at <= K`` whose next version
has ``next_occurred > T`` or ``next_recorded > K``; found by the reads, ranges of an index,
never a fold. A stream bent by K is folded from its events
(:func:`incidents.domain.rules.fold_in_time`); so are streams of a log whose store does not
run the projection.

The summaries of each event of an append come from the rules, one event at a time, from
the stream's row before the append (the last one from the row after it); none are kept from
a stream's bend on (those rows are never read for one). On SQLite, times are integer
microseconds since 1970 (UTC): a fifth of the text's width in the row and its indexes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, cast

import msgspec

from incidents.domain.events import CORRECTION_TYPES, Party
from incidents.domain.rules import DomainRules
from incidents.domain.state import Bound, IncidentState, NoteState, ProtestState
from incidents.domain.times import Precision
from incidents.projections.open_protests import open_demands_of
from incidents.projections.slices import (
    SLICES,
    DemandPlace,
    IncidentPlace,
    Named,
    NoteFacts,
    ProtestPlace,
    cut,
)
from incidents.store.inline import InlineBatch, LastRowValues, StreamChange
from incidents.store.migrations import Migration
from incidents.store.plan import to_utc
from incidents.store.protocol import RuleViolation, StreamRow, StreamSnapshot
from incidents.store.writer import Statement

NAME = "in_time"
# What "no next version" is in the next_* columns: later than any time or position.
FAR = datetime(9999, 12, 31, tzinfo=UTC)
# What a moment with no bound on a side reads as: later than any time the log holds, earlier
# than FAR.
UNBOUNDED = datetime(9999, 12, 30, tzinfo=UTC)
# Earlier than any time the log holds: where a page with no cursor starts.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CORRECTIONS = frozenset(CORRECTION_TYPES.values())


def stored_time(engine: str, moment: datetime) -> object:
    """A time as the index stores it: integer microseconds since 1970 (UTC) on SQLite, an
    aware datetime on PostgreSQL (``timestamptz``)."""
    if engine != "sqlite":
        return to_utc(moment)
    delta = to_utc(moment) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def read_stored_time(engine: str, value: object) -> datetime:
    """A time read back from the index (what :func:`stored_time` wrote)."""
    if engine != "sqlite":
        assert isinstance(value, datetime)
        return value
    assert isinstance(value, int)
    return _EPOCH + timedelta(microseconds=value)


# Its first tables, for either engine: SQLite names an index's schema on the index,
# PostgreSQL on its table. Migration 2 replaces them.
_TABLES = """
CREATE TABLE {schema}.in_time_versions (
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    category TEXT NOT NULL,
    mission TEXT,
    is_open {small} NOT NULL,
    position {big} NOT NULL,
    recorded_at {text_time} NOT NULL,
    occurred {text_time} NOT NULL,
    next_recorded {text_time} NOT NULL DEFAULT '{text_far}',
    next_occurred {text_time} NOT NULL DEFAULT '{text_far}',
    state {blob},
    PRIMARY KEY (stream_id, version)
);
{indexes}"""

# The narrow rows: no state, a summary of it instead; times as stored_time keeps them.
_NARROW = """
DROP TABLE {schema}.in_time_versions;
DROP TABLE {schema}.in_time_bent;
CREATE TABLE {schema}.in_time_versions (
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    category TEXT NOT NULL,
    mission TEXT,
    is_open {small} NOT NULL,
    position {big} NOT NULL,
    recorded_at {time} NOT NULL,
    occurred {time} NOT NULL,
    next_recorded {time} NOT NULL DEFAULT {far},
    next_occurred {time} NOT NULL DEFAULT {far},
    rank {time},
    amount INTEGER,
    place {blob},
    PRIMARY KEY (stream_id, version)
);
{indexes}"""
# The indexes of the versions and the bent table, the same in both migrations but for the
# bent table's time type ({bent_time}).
_INDEXES_AND_BENT = """\
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
    recorded_at {bent_time} NOT NULL
);
CREATE INDEX {index}in_time_bent_by_category ON {table}in_time_bent (category, recorded_at);
"""
_TYPES = {
    "sqlite": {
        "small": "INTEGER",
        "big": "INTEGER",
        "time": "INTEGER",
        "text_time": "TEXT",
        "blob": "BLOB",
        "index": "{schema}.",
        "table": "",
    },
    "postgres": {
        "small": "SMALLINT",
        "big": "BIGINT",
        "time": "TIMESTAMPTZ",
        "text_time": "TIMESTAMPTZ",
        "blob": "BYTEA",
        "index": "",
        "table": "{schema}.",
    },
}


def _tables(template: str, engine: str, bent_time: str) -> str:
    far = stored_time(engine, FAR)
    text_far = FAR.isoformat() if engine != "sqlite" else "9999-12-31T00:00:00.000000Z"
    literal = str(far) if isinstance(far, int) else f"'{FAR.isoformat()}'"
    types = _TYPES[engine]
    indexes = _INDEXES_AND_BENT.format(bent_time=types[bent_time], **types, schema="{schema}")
    return template.format(
        schema="{schema}", far=literal, text_far=text_far, indexes=indexes, **types
    )


class _ProtestPlace(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What the views filter a protest by (its parties) or count it for (the mission it
    was handed to), beside its columns."""

    by: Named
    to: Named
    via_mission: str | None = None


class _IncidentPlace(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What an incident's place in the incidents view is made of, beside its columns."""

    kind: str
    occurred_at: datetime
    location: Named | None = None
    occurred_precision: Precision | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


class _NotePlace(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What the note views read of a note (the fields of its slice, ``NoteFacts``, but its
    mission, a column), so that none folds a note to show it."""

    status: str
    from_: Party
    to: Party
    subject: str
    sent_at: datetime
    reference: str | None = None
    about_incident: str | None = None
    reply_due_at: datetime | None = None
    occurred_precision: Precision | None = None
    occurred_zone: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


_encode = msgspec.msgpack.Encoder().encode
_protest_place = msgspec.msgpack.Decoder(_ProtestPlace).decode
_incident_place = msgspec.msgpack.Decoder(_IncidentPlace).decode
_note_place = msgspec.msgpack.Decoder(_NotePlace).decode


def _or_none(bound: Bound) -> datetime | None:
    """A dating bound as a place keeps it: None where the state has it UNSET."""
    return None if isinstance(bound, msgspec.UnsetType) else bound


def _or_unset(bound: datetime | None) -> Bound:
    """A dating bound as the state has it."""
    return msgspec.UNSET if bound is None else bound


# The slice each category's summary is made from (the states of the others are not
# decoded), and the same slice with the state's latest occurred time: the row an append
# ends with gives both from one decoding.
_SUMMARISED: dict[str, Callable[[bytes], Any]] = {
    "protest": SLICES[ProtestPlace].decode,
    "incident": SLICES[IncidentPlace].decode,
    "note": SLICES[NoteState].decode,
}
_SUMMARISED_WITH_LATEST: dict[str, Callable[[bytes], Any]] = {
    category: msgspec.json.Decoder(
        cut(f"{kind.__name__}AndLatest", state, "last_event_at", base=kind)
    ).decode
    for category, kind, state in (
        ("protest", ProtestPlace, ProtestState),
        ("incident", IncidentPlace, IncidentState),
        ("note", NoteFacts, NoteState),
    )
}


class Summary(NamedTuple):
    """What a version's row keeps of its state besides ``mission`` and ``is_open``."""

    rank: datetime | None = None
    amount: int | None = None
    place: bytes | None = None


def summarise(category: str, state: bytes) -> Summary:
    """The summary of a state document (the stored JSON) of a stream of ``category``."""
    decoder = _SUMMARISED.get(category)
    if decoder is not None:
        return _summary(category, decoder(state))
    if category == "mission":
        return Summary(place=bytes(state))
    return Summary()


def _summary(category: str, decoded: Any) -> Summary:
    """The summary of a protest, an incident or a note from its slice."""
    if category == "protest":
        place = _ProtestPlace(decoded.by, decoded.to, decoded.via_mission)
        return Summary(decoded.lodged_at, open_demands_of(decoded), _encode(place))
    if category == "incident":
        return Summary(
            place=_encode(
                _IncidentPlace(
                    decoded.kind,
                    decoded.occurred_at,
                    decoded.location,
                    decoded.occurred_precision,
                    _or_none(decoded.occurred_after),
                    _or_none(decoded.occurred_before),
                )
            )
        )
    return Summary(
        place=_encode(
            _NotePlace(
                decoded.status,
                decoded.from_,
                decoded.to,
                decoded.subject,
                decoded.sent_at,
                decoded.reference,
                decoded.about_incident,
                decoded.reply_due_at,
                decoded.occurred_precision,
                decoded.occurred_zone,
                _or_none(decoded.occurred_after),
                _or_none(decoded.occurred_before),
            )
        )
    )


def protest_place(
    stream_id: str, mission: str | None, rank: datetime, amount: int, place: bytes
) -> ProtestState:
    """An open protest's place in its view, from its row (typed as the state it is cut
    from, :data:`incidents.projections.slices.ProtestPlace`)."""
    summary = _protest_place(place)
    return cast(
        ProtestState,
        ProtestPlace(
            stream_id=stream_id,
            status="open",
            by=summary.by,
            to=summary.to,
            lodged_at=rank,
            mission=mission,
            via_mission=summary.via_mission,
            demands=[_OPEN_DEMAND] * amount,
        ),
    )


def incident_place(stream_id: str, mission: str | None, place: bytes) -> IncidentState:
    """An incident's place in its view, from its row (typed as the state it is cut from,
    :data:`incidents.projections.slices.IncidentPlace`)."""
    summary = _incident_place(place)
    return cast(
        IncidentState,
        IncidentPlace(
            stream_id=stream_id,
            kind=summary.kind,
            occurred_at=summary.occurred_at,
            mission=mission,
            location=summary.location,
            occurred_precision=summary.occurred_precision,
            occurred_after=_or_unset(summary.occurred_after),
            occurred_before=_or_unset(summary.occurred_before),
        ),
    )


def note_sender(place: bytes) -> str | None:
    """The state that sent a note, from its row."""
    return _note_place(place).from_.state


def note_facts(stream_id: str, mission: str | None, place: bytes) -> NoteState:
    """A note as its views read it, from its row (typed as the state it is cut from,
    :data:`incidents.projections.slices.NoteFacts`)."""
    note = _note_place(place)
    return cast(
        NoteState,
        NoteFacts(
            stream_id=stream_id,
            status=note.status,
            from_=note.from_,
            to=note.to,
            subject=note.subject,
            sent_at=note.sent_at,
            mission=mission,
            reference=note.reference,
            about_incident=note.about_incident,
            reply_due_at=note.reply_due_at,
            occurred_precision=note.occurred_precision,
            occurred_zone=note.occurred_zone,
            occurred_after=_or_unset(note.occurred_after),
            occurred_before=_or_unset(note.occurred_before),
        ),
    )


def handed_via(place: bytes, mission: str | None) -> str | None:
    """The mission an open protest was handed to when that is not the one it concerns."""
    via = _protest_place(place).via_mission
    return via if via is not None and via != mission else None


# What a protest's place counts of each open demand.
_OPEN_DEMAND = DemandPlace()


# What a read gives for each stream: its version's place in the log and its summary.
_COLUMNS = (
    "v.stream_id, v.version, v.position, v.recorded_at, v.mission, v.is_open, v.rank, "
    "v.amount, v.place"
)
# What the open-protest reads count and order by.
_PROTEST_COLUMNS = "v.stream_id, v.version, v.position, v.recorded_at, v.rank, v.amount"
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
# The global read of open protests, over the known range and (with as_of) the crossed one
# (the parts, ``{parts}``, a UNION ALL): a first row (its stream id null) with the count of
# every match and their open demands, then a page in the view's order, oldest first, the ?L
# that come after the protest lodged at ?R with the stream id ?S.
_PROTESTS = (
    "WITH u AS ({parts}) "
    "SELECT CAST(NULL AS TEXT), CAST(NULL AS INTEGER), CAST(NULL AS {big}), "
    "CAST(NULL AS {time}), CAST(NULL AS {time}), count(*), coalesce(sum(u.amount), 0) "
    "FROM u UNION ALL SELECT * FROM (SELECT u.stream_id, u.version, u.position, "
    "u.recorded_at, u.rank, CAST(NULL AS {big}), CAST(NULL AS {big}) FROM u "
    "WHERE u.rank > ?R OR (u.rank = ?R AND u.stream_id > ?S) "
    "ORDER BY u.rank, u.stream_id LIMIT ?L) p"
)

_WRITES_SQLITE = {
    "insert_versions": (
        "INSERT INTO {schema}.in_time_versions (stream_id, version, category, mission, "
        "is_open, position, recorded_at, occurred, rank, amount, place) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "link_versions": (
        "UPDATE {schema}.in_time_versions SET next_recorded = ?, next_occurred = ? "
        "WHERE stream_id = ? AND version = ?"
    ),
    "insert_bent": (
        "INSERT INTO {schema}.in_time_bent (stream_id, category, recorded_at) "
        "VALUES (?, ?, ?) ON CONFLICT (stream_id) DO NOTHING"
    ),
    "replace_summaries": (
        "UPDATE {schema}.in_time_versions SET mission = ?, is_open = ?, rank = ?, amount = ?, "
        "place = ? WHERE stream_id = ? AND version = ?"
    ),
    "reset": "DELETE FROM {schema}.in_time_versions; DELETE FROM {schema}.in_time_bent;",
}

_WRITES_POSTGRES = {
    "insert_versions": (
        "INSERT INTO {schema}.in_time_versions (stream_id, version, category, mission, "
        "is_open, position, recorded_at, occurred, rank, amount, place) SELECT * FROM "
        "unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::smallint[], "
        "$6::bigint[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], "
        "$10::integer[], $11::bytea[])"
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
    "replace_summaries": (
        "UPDATE {schema}.in_time_versions v SET mission = u.mission, is_open = u.is_open, "
        "rank = u.rank, amount = u.amount, place = u.place FROM unnest($1::text[], "
        "$2::smallint[], $3::timestamptz[], $4::integer[], $5::bytea[], $6::text[], "
        "$7::integer[]) AS u (mission, is_open, rank, amount, place, stream_id, version) "
        "WHERE v.stream_id = u.stream_id AND v.version = u.version"
    ),
    "reset": "DELETE FROM {schema}.in_time_versions; DELETE FROM {schema}.in_time_bent;",
}

_NAMED = re.compile(r"\?([TKCMRSL])")


def read_name(read: str, only_open: bool) -> str:
    """The name of a read for the streams open at the moment only, or for all."""
    return f"{read}_{'open' if only_open else 'all'}"


def protests_read_name(known: str, crossed: bool, straight: bool) -> str:
    """The name of the open-protest read over the ``known`` part (``known_early`` or
    ``known_late``), with the crossed part or not; ``straight``: for a moment by which no
    protest is bent (no check of ``in_time_bent`` per row)."""
    return f"protests_{known}{'_crossed' if crossed else ''}{'_straight' if straight else ''}"


def _positional(sql: str, engine: str) -> str:
    """A read's SQL with its named places (``?T``...) turned into the engine's positional
    ones."""
    count = 0

    def place(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return "?" if engine == "sqlite" else f"${count}"

    return _NAMED.sub(place, sql)


# SQLite's planner has no statistics to choose between the indexes by: each read names its
# own. PostgreSQL's has them.
_INDEXES = ("by_recorded", "by_next_recorded", "by_next_occurred", "by_mission")


@cache
def _templates(engine: str) -> dict[str, str]:
    """Every read by name, with its named places."""
    indexes = {
        index: f"INDEXED BY in_time_{index}" if engine == "sqlite" else "" for index in _INDEXES
    }

    def part(name: str, columns: str, opens: str, straight: bool = False) -> str:
        return _READS[name].format(
            columns=columns,
            schema="{schema}",
            opens=opens,
            not_bent="1 = 1" if straight else _NOT_BENT,
            **indexes,
        )

    reads: dict[str, str] = {}
    for name in _READS:
        for only_open in (True, False):
            reads[read_name(name, only_open)] = part(name, _COLUMNS, "1" if only_open else "0, 1")
    for known in ("known_early", "known_late"):
        for crossed in (False, True):
            for straight in (False, True):
                names = [known, "crossed"] if crossed else [known]
                parts = " UNION ALL ".join(
                    part(name, _PROTEST_COLUMNS, "1", straight) for name in names
                )
                reads[protests_read_name(known, crossed, straight)] = _PROTESTS.format(
                    parts=parts, big=_TYPES[engine]["big"], time=_TYPES[engine]["time"]
                )
    return reads


def read_order(read: str) -> str:
    """The names of a read's parameters (its full name), in the order the engine takes
    them."""
    return "".join(_NAMED.findall(_templates("sqlite")[read]))


class _LatestOccurred(msgspec.Struct):
    """The one field of a state the index needs: its latest occurred time."""

    last_event_at: datetime


_decode_latest = msgspec.json.Decoder(_LatestOccurred).decode


def _latest_and_summary(row: StreamRow) -> tuple[datetime, Summary]:
    """A stream row's latest occurred time and its summary, from one decoding of its state
    where the summary decodes it."""
    decoder = _SUMMARISED_WITH_LATEST.get(row.category)
    if decoder is None:
        return _decode_latest(row.state).last_event_at, summarise(row.category, row.state)
    decoded = decoder(row.state)
    return decoded.last_event_at, _summary(row.category, decoded)


class _Precision(msgspec.Struct):
    occurred_precision: Precision | None = None


_decode_precision = msgspec.json.Decoder(_Precision).decode


def _begins_earlier(data: msgspec.Raw) -> bool:
    """Whether an event's span may begin before its occurred time: its precision is
    ``unknown`` (:func:`incidents.domain.times.span`). Decoding the one field costs less
    than searching a copy of the bytes for it."""
    return _decode_precision(data).occurred_precision == "unknown"


class InTimeIndex:
    """The inline projection (see the module): ``in_time`` tables, ``handle`` per batch."""

    name = NAME
    handles: frozenset[str] = frozenset()
    # A rebuild folds the log event by event: every version's state.
    rebuild_from = "events"

    def __init__(self, rules: DomainRules | None = None) -> None:
        self._rules = rules if rules is not None else DomainRules()
        # An append's row before is the row after of its stream's previous append.
        self._latest_and_summary = LastRowValues(_latest_and_summary)

    def sql(self, engine: str) -> Mapping[str, str]:
        """Its writes and reads for ``engine``."""
        writes = _WRITES_SQLITE if engine == "sqlite" else _WRITES_POSTGRES
        reads = {name: _positional(text, engine) for name, text in _templates(engine).items()}
        return {**writes, **reads}

    def migrations(self, engine: str) -> Sequence[Migration]:
        """Its tables and indexes; a log that already has events is indexed when it opens."""
        return (
            Migration(
                1, "versions in time", (_tables(_TABLES, engine, "text_time"),), rebuilds=True
            ),
            Migration(
                2,
                "narrow versions with summaries",
                (_tables(_NARROW, engine, "time"),),
                rebuilds=True,
            ),
            # A note's place holds what its views read (it held only its sender).
            Migration(
                3,
                "note places with the note's facts",
                ("UPDATE {schema}.in_time_versions SET place = NULL WHERE category = 'note';",),
                rebuilds=True,
            ),
            # ... and how well the text dates it (its precision and bounds).
            Migration(
                4,
                "note places with the note's date precision and bounds",
                ("UPDATE {schema}.in_time_versions SET place = NULL WHERE category = 'note';",),
                rebuilds=True,
            ),
            # A stream is bent by an event of unknown precision too (as_of by its span).
            Migration(
                5,
                "streams bent by an event that may have occurred before its occurred time",
                ("DELETE FROM {schema}.in_time_bent;",),
                rebuilds=True,
            ),
        )

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
                rank, amount, place = summarise(after.category, after.state)
                replaced.append(
                    (
                        after.mission,
                        int(after.is_open),
                        None if rank is None else stored_time(engine, rank),
                        amount,
                        place,
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
            yield Statement("replace_summaries", rows=replaced)

    def _versions(
        self, change: StreamChange, engine: str
    ) -> Iterable[tuple[tuple[object, ...], tuple[object, ...] | None, tuple[object, ...] | None]]:
        """Each event's row, the link of the version before it, and the bend it makes."""
        stream_id, before, after = change.stream_id, change.before, change.after
        category = after.category
        snapshot = None if before is None else StreamSnapshot(bytes(before.state))
        known = self._latest_and_summary
        latest = None if before is None else known.before(before)[0]
        straight = True
        last = len(change.events) - 1
        for index, event in enumerate(change.events):
            straight = straight and event.type not in _CORRECTIONS
            straight = straight and (latest is None or event.occurred_at >= latest)
            straight = straight and not _begins_earlier(event.data)
            state: bytes | None = None
            summary: Summary | None = None
            mission, is_open = after.mission, after.is_open
            if index == last:
                state = bytes(after.state)
                latest, summary = known.after(after)
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
            if not straight or state is None:
                summary = Summary()
            elif summary is None:
                summary = summarise(category, state)
            rank, amount, place = summary
            recorded = stored_time(engine, event.recorded_at)
            occurred = stored_time(engine, latest)
            row = (
                stream_id,
                event.version,
                category,
                mission,
                int(is_open),
                event.position,
                recorded,
                occurred,
                None if rank is None else stored_time(engine, rank),
                amount,
                place,
            )
            link = (recorded, occurred, stream_id, event.version - 1) if event.version > 1 else None
            bend = None if straight else (stream_id, category, recorded)
            yield row, link, bend
