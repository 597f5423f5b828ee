"""One summary row per mission: incidents, notes sent and unanswered, open protests.

The counts come from the mission tallies, an inline projection the store keeps in the
append's transaction (:class:`MissionTallies`): per mission, how many streams that name it
carry each label, and the latest of them. A stream's labels (:func:`labels_for`) are
written here and read here, nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from incidents.domain.events import Source
from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    State,
    bound,
    is_open,
)
from incidents.domain.times import date_label
from incidents.store.inline import InlineBatch, LastRowValues, read_time, time_value
from incidents.store.migrations import Migration
from incidents.store.protocol import EventStore, StreamRow
from incidents.store.writer import Statement


class MissionSummary(msgspec.Struct, frozen=True):
    """What a desk officer sees first about one mission.

    ``open_protests`` counts the open protests that concern the mission and those handed to
    it (``via_mission``: to its head, about another mission), which
    ``open_protests_handed_to`` counts apart.

    ``head_of_mission`` is where the head stands (appointed, recalled, returned);
    ``head_of_mission_since`` the date of that change as the text gives it (a bounded date
    reads as its bounds, an undated one as null)."""

    mission: str
    name: str
    sending_state: str
    receiving_state: str
    city: str
    kind: str
    head_of_mission: str | None = None
    head_of_mission_name: str | None = None
    head_of_mission_title: str | None = None
    head_of_mission_since: str | None = None
    incidents: int = 0
    open_incidents: int = 0
    notes_sent: int = 0
    notes_sent_unanswered: int = 0
    notes_received: int = 0
    notes_received_unanswered: int = 0
    open_protests: int = 0
    open_protests_handed_to: int = 0
    latest_position: int = 0
    latest_recorded_at: datetime | None = None
    # The mission stream's citations (document and quote), with include=sources.
    sources: list[Source] | None = None


class MissionsView(msgspec.Struct, frozen=True):
    """The read model: every mission, by stream id."""

    count: int
    missions: list[MissionSummary]
    # The moment a view in time was computed for (GET ...?as_of=&known_at=); null for now.
    as_of: datetime | None = None
    known_at: datetime | None = None


def handed_to(state: Any) -> str | None:
    """The mission an open protest was handed to when that is not the one it concerns
    (its row counts the protest too); None for anything else."""
    if not isinstance(state, ProtestState) or state.status != "open":
        return None
    via = state.via_mission
    return via if via is not None and via != state.mission else None


def missions_view(
    missions: Iterable[tuple[StreamRow, MissionState]],
    related: Iterable[StreamRow],
    notes: Iterable[NoteState],
    protests: Iterable[ProtestState] = (),
) -> MissionsView:
    """Summarise each mission from its own stream and the streams that name it, and the
    open ``protests`` handed to it (see :func:`handed_to`)."""
    counts: dict[str, dict[str, int]] = {}
    latest: dict[str, tuple[int, datetime]] = {}
    states: dict[str, MissionState] = {}
    for row, state in missions:
        states[row.stream_id] = state
        counts[row.stream_id] = {}
        latest[row.stream_id] = (row.last_position, row.updated_at)

    def bump(mission: str, key: str) -> None:
        bucket = counts[mission]
        bucket[key] = bucket.get(key, 0) + 1

    for row in related:
        if row.mission not in counts:
            continue
        if row.last_position > latest[row.mission][0]:
            latest[row.mission] = (row.last_position, row.updated_at)
        if row.category == "incident":
            bump(row.mission, "incidents")
            if row.is_open:
                bump(row.mission, "open_incidents")
        elif row.category == "protest" and row.is_open:
            bump(row.mission, "open_protests")
    for note in notes:
        if note.mission not in states:
            continue
        side = "sent" if note.from_.state == states[note.mission].sending_state else "received"
        bump(note.mission, f"notes_{side}")
        if note.status in ("sent", "acknowledged"):
            bump(note.mission, f"notes_{side}_unanswered")

    rows = [
        _summary(mission_id, states[mission_id], *latest[mission_id], counts[mission_id])
        for mission_id in sorted(states)
    ]
    handed: dict[str, int] = {}
    for protest in protests:
        via = handed_to(protest)
        if via is not None:
            handed[via] = handed.get(via, 0) + 1
    return with_protests_handed_to(MissionsView(count=len(rows), missions=rows), handed)


class MissionTally(msgspec.Struct, frozen=True):
    """What the streams that name one mission and carry labels add up to.

    ``counts`` maps each label to how many such streams carry it (labels with no stream are
    left out); ``latest_position`` and ``latest_recorded_at`` are the ``last_position`` and
    ``updated_at`` of the one of them appended to last.
    """

    mission: str
    counts: dict[str, int]
    latest_position: int = 0
    latest_recorded_at: datetime | None = None


_NOTE_FROM = "note:from:"
_NOTE_UNANSWERED_FROM = "note:unanswered:from:"
# The categories whose streams carry labels: every such stream carries one at least.
LABELLED_CATEGORIES = frozenset({"incident", "note", "protest"})


def labels_for(category: str, open_: bool, sender: str | None) -> tuple[str, ...]:
    """The labels a stream counts under in its mission's summary: by its category, whether
    it is open, and for a note the state it is from (whether that is sent or received
    depends on the mission's sending state, which the summary knows and a note does not)."""
    if category == "incident":
        return ("incident", "incident:open") if open_ else ("incident",)
    if category == "protest":
        return ("protest", "protest:open") if open_ else ("protest",)
    if category == "note":
        if open_:
            return (f"{_NOTE_FROM}{sender}", f"{_NOTE_UNANSWERED_FROM}{sender}")
        return (f"{_NOTE_FROM}{sender}",)
    return ()


def state_labels(state: State) -> tuple[str, ...]:
    """:func:`labels_for` a folded state."""
    if isinstance(state, IncidentState):
        return labels_for("incident", is_open(state), None)
    if isinstance(state, ProtestState):
        return labels_for("protest", is_open(state), None)
    if isinstance(state, NoteState):
        return labels_for("note", is_open(state), state.from_.state)
    return ()


class _Sender(msgspec.Struct):
    state: str


class _NoteSender(msgspec.Struct):
    from_: _Sender = msgspec.field(name="from")


# Only a note's sender is read from its state, the rest of the document skipped.
_note_sender = msgspec.json.Decoder(_NoteSender).decode


def stored_labels(category: str, state: bytes, open_: bool) -> tuple[str, ...]:
    """:func:`labels_for` a stream as stored: its category, state document and open flag
    (a note's sender read from its state)."""
    if category not in LABELLED_CATEGORIES:
        return ()
    sender = _note_sender(state).from_.state if category == "note" else None
    return labels_for(category, open_, sender)


def row_labels(row: StreamRow) -> tuple[str, ...]:
    """:func:`labels_for` a stream's row."""
    return stored_labels(row.category, row.state, row.is_open)


# The labels that count as they are.
_PLAIN_LABELS = {
    "incident": "incidents",
    "incident:open": "open_incidents",
    "protest:open": "open_protests",
}


@functools.lru_cache(maxsize=4096)
def _reading(label: str) -> tuple[str, str, str | None] | None:
    """The counter a tally label adds to when its sender is the mission's sending state,
    the one it adds to otherwise, and the sender (None: the same counter either way); None
    for a label the summary does not count.

    Worked out once per label: a summary reads some 1,600 labels, of a few hundred kinds.
    """
    if label in _PLAIN_LABELS:
        return (_PLAIN_LABELS[label], _PLAIN_LABELS[label], None)
    if label.startswith(_NOTE_UNANSWERED_FROM):
        sender = label[len(_NOTE_UNANSWERED_FROM) :]
        return ("notes_sent_unanswered", "notes_received_unanswered", sender)
    if label.startswith(_NOTE_FROM):
        return ("notes_sent", "notes_received", label[len(_NOTE_FROM) :])
    return None


def missions_from_tallies(
    missions: Iterable[tuple[StreamRow, MissionState]], tallies: Iterable[MissionTally]
) -> MissionsView:
    """The view :func:`missions_view` builds, from the store's per-mission tallies instead
    of every related stream: a note's label names the state it is from, which makes it
    sent or received once set beside the mission's sending state."""
    by_mission = {tally.mission: tally for tally in tallies}
    rows = []
    for row, state in sorted(missions, key=lambda pair: pair[0].stream_id):
        counts: dict[str, int] = {}
        position = row.last_position
        recorded_at: datetime | None = row.updated_at
        tally = by_mission.get(row.stream_id)
        if tally is not None:
            for label, number in tally.counts.items():
                reading = _reading(label)
                if reading is None:
                    continue
                sent, received, sender = reading
                key = sent if sender is None or sender == state.sending_state else received
                counts[key] = counts.get(key, 0) + number
            if tally.latest_position > position:
                position, recorded_at = tally.latest_position, tally.latest_recorded_at
        rows.append(_summary(row.stream_id, state, position, recorded_at, counts))
    return MissionsView(count=len(rows), missions=rows)


def _summary(
    mission_id: str,
    state: MissionState,
    position: int,
    recorded_at: datetime | None,
    counts: dict[str, int],
) -> MissionSummary:
    """One mission's row: what its own stream says, and the counts of what names it."""
    head = state.head_of_mission
    row = MissionSummary(
        mission=mission_id,
        name=state.name,
        sending_state=state.sending_state,
        receiving_state=state.receiving_state,
        city=state.city,
        kind=state.kind,
        head_of_mission=head.status if head else None,
        head_of_mission_name=head.name if head else None,
        head_of_mission_title=head.title if head else None,
        head_of_mission_since=(
            date_label(head.since, head.precision, None, bound(head.after), bound(head.before))
            if head
            else None
        ),
        latest_position=position,
        latest_recorded_at=recorded_at,
    )
    # The counts go in by name after: as **dict[str, int] in the call, the type checker
    # would match them against every field.
    return msgspec.structs.replace(row, **counts)


def with_protests_handed_to(view: MissionsView, handed: dict[str, int]) -> MissionsView:
    """The view with each mission's open protests handed to it (``handed``, by mission)
    counted beside those that concern it."""
    rows = [
        msgspec.structs.replace(
            row,
            open_protests=row.open_protests + handed.get(row.mission, 0),
            open_protests_handed_to=handed.get(row.mission, 0),
        )
        for row in view.missions
    ]
    return MissionsView(count=view.count, missions=rows)


# The projection's tables, one file of DDL per engine; {schema} is the log's schema.
_TABLES = {
    "sqlite": (
        "CREATE TABLE {schema}.missions_counts (mission TEXT NOT NULL, label TEXT NOT NULL,"
        " count INTEGER NOT NULL, PRIMARY KEY (mission, label)) WITHOUT ROWID",
        "CREATE TABLE {schema}.missions_latest (mission TEXT PRIMARY KEY,"
        " position INTEGER NOT NULL, recorded_at TEXT NOT NULL)",
    ),
    "postgres": (
        'CREATE TABLE {schema}.missions_counts (mission text COLLATE "C" NOT NULL,'
        ' label text COLLATE "C" NOT NULL, count bigint NOT NULL, PRIMARY KEY (mission, label))',
        'CREATE TABLE {schema}.missions_latest (mission text COLLATE "C" PRIMARY KEY,'
        " position bigint NOT NULL, recorded_at timestamptz NOT NULL)",
    ),
}


def _statements(engine: str, categories: frozenset[str] | None) -> dict[str, str]:
    """The projection's statements on ``engine``; ``categories`` those whose streams carry
    labels (a mission's latest is looked for again among them; None: every category)."""
    listed = "" if categories is None else ", ".join(f"'{c}'" for c in sorted(categories))
    among = f" AND category IN ({listed})" if listed else ""
    if engine == "sqlite":
        return {
            "reset": "DELETE FROM {schema}.missions_counts; DELETE FROM {schema}.missions_latest;",
            "add_counts": (
                "INSERT INTO {schema}.missions_counts (mission, label, count) VALUES (?, ?, ?)"
                " ON CONFLICT (mission, label) DO UPDATE SET count = count + excluded.count"
            ),
            "raise_latest": (
                "INSERT INTO {schema}.missions_latest (mission, position, recorded_at)"
                " VALUES (?, ?, ?) ON CONFLICT (mission) DO UPDATE SET"
                " position = excluded.position, recorded_at = excluded.recorded_at"
                " WHERE excluded.position > missions_latest.position"
            ),
            "forget_latest": "DELETE FROM {schema}.missions_latest WHERE mission = ?",
            "find_latest": (
                "INSERT INTO {schema}.missions_latest (mission, position, recorded_at)"
                " SELECT mission, last_position, updated_at FROM {schema}.streams"
                f" WHERE mission = ?{among}"
                " ORDER BY last_position DESC LIMIT 1"
            ),
            # Every mission with a labelled stream has its latest; all of it as one JSON
            # document (one row for the reader to hand over).
            "tallies": (
                "SELECT json_group_array(json_array(mission, position, recorded_at, json(("
                "SELECT json_group_object(label, count) FROM {schema}.missions_counts AS t"
                " WHERE t.mission = l.mission AND count != 0))))"
                " FROM {schema}.missions_latest AS l"
            ),
        }
    return {
        "reset": "DELETE FROM {schema}.missions_counts; DELETE FROM {schema}.missions_latest;",
        "add_counts": (
            "INSERT INTO {schema}.missions_counts AS t (mission, label, count)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])"
            " ON CONFLICT (mission, label) DO UPDATE SET count = t.count + excluded.count"
        ),
        "raise_latest": (
            "INSERT INTO {schema}.missions_latest AS t (mission, position, recorded_at)"
            " SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[])"
            " ON CONFLICT (mission) DO UPDATE SET position = excluded.position,"
            " recorded_at = excluded.recorded_at WHERE excluded.position > t.position"
        ),
        "forget_latest": "DELETE FROM {schema}.missions_latest WHERE mission = ANY($1::text[])",
        "find_latest": (
            "INSERT INTO {schema}.missions_latest (mission, position, recorded_at)"
            " SELECT DISTINCT ON (mission) mission, last_position, updated_at"
            f" FROM {{schema}}.streams WHERE mission = ANY($1::text[]){among}"
            " ORDER BY mission, last_position DESC"
        ),
        "tallies": (
            "SELECT mission, NULL, position, recorded_at FROM {schema}.missions_latest"
            " UNION ALL SELECT mission, label, count, NULL FROM {schema}.missions_counts"
            " WHERE count <> 0"
        ),
    }


class MissionTallies:
    """The mission tallies as an inline projection (see the module).

    ``labels`` gives a stream's labels from its row, and ``categories`` names the
    categories whose streams have any, None for all (the domain's by default; tests give
    their own).
    Rebuilt from the streams' rows: the labels depend on nothing else.
    """

    name = "missions"
    handles: frozenset[str] = frozenset()
    rebuild_from = "rows"

    def __init__(
        self,
        labels: Callable[[StreamRow], tuple[str, ...]] = row_labels,
        categories: frozenset[str] | None = LABELLED_CATEGORIES,
    ) -> None:
        # An append's row before is the row after of its stream's previous append.
        self._labels = LastRowValues(labels)
        self._sql = {engine: _statements(engine, categories) for engine in _TABLES}

    def sql(self, engine: str) -> Mapping[str, str]:
        return self._sql[engine]

    def migrations(self, engine: str) -> Sequence[Migration]:
        return (Migration(1, "mission tallies", _TABLES[engine], rebuilds=True),)

    def handle(self, batch: InlineBatch) -> Iterable[Statement]:
        """Counts move by the labels that changed; a mission's latest rises to a changed
        stream's position, or is looked for again among its streams when one left it."""
        labels_before, labels_after = self._labels.before, self._labels.after
        counts: dict[tuple[str, str], int] = {}
        latest: dict[str, tuple[int, datetime]] = {}
        stale: set[str] = set()
        for before, after in batch.streams().values():
            old = () if before is None else labels_before(before)
            new = labels_after(after)
            if before is not None and before.mission is not None and old:
                if before.mission != after.mission or not new:
                    stale.add(before.mission)
                if before.mission != after.mission or old != new:
                    for label in old:
                        key = (before.mission, label)
                        counts[key] = counts.get(key, 0) - 1
            if after.mission is None or not new:
                continue
            if before is None or before.mission != after.mission or old != new:
                for label in new:
                    key = (after.mission, label)
                    counts[key] = counts.get(key, 0) + 1
            if after.mission not in latest or after.last_position > latest[after.mission][0]:
                latest[after.mission] = (after.last_position, after.updated_at)
        moved = [(mission, label, n) for (mission, label), n in counts.items() if n]
        if moved:
            yield Statement("add_counts", rows=moved)
        if latest:
            engine = batch.engine
            yield Statement(
                "raise_latest",
                rows=[
                    (mission, position, time_value(engine, recorded_at))
                    for mission, (position, recorded_at) in latest.items()
                ],
            )
        if stale:
            missions = [(mission,) for mission in sorted(stale)]
            yield Statement("forget_latest", rows=missions)
            yield Statement("find_latest", rows=missions)


_decode_json_tallies = msgspec.json.Decoder(list[tuple[str, int, datetime, dict[str, int]]]).decode


async def read_tallies(store: EventStore) -> list[MissionTally]:
    """Per mission named by a labelled stream: label counts and latest, by mission (in the
    order of their ids' bytes)."""
    rows = await store.query(MissionTallies.name, "tallies")
    found: dict[str, MissionTally] = {}
    if store.engine == "sqlite":
        listed = rows[0][0] if rows and rows[0][0] else "[]"
        for mission, position, recorded_at, counts in _decode_json_tallies(listed):
            found[mission] = MissionTally(mission, counts, position, recorded_at)
    else:
        counted: dict[str, dict[str, int]] = {}
        latest: dict[str, tuple[int, datetime]] = {}
        for mission, label, number, recorded_at in rows:
            if label is None:
                latest[mission] = (number, read_time(store.engine, recorded_at))
            else:
                counted.setdefault(mission, {})[label] = number
        for mission in counted.keys() | latest.keys():
            entry = latest.get(mission)
            position, at = (0, None) if entry is None else entry
            found[mission] = MissionTally(mission, counted.get(mission, {}), position, at)
    return [found[mission] for mission in sorted(found, key=str.encode)]
