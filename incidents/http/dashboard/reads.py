"""What the dashboard's pages show, gathered from the read models and the stream states.

Every function here reads; none writes. The pages (``pages.py``) render what they return.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from incidents.domain.state import IncidentState, MissionState, NoteState, ProtestState
from incidents.projections.in_time import Moment, category_in_time
from incidents.projections.incidents_by_mission import IncidentFilter, IncidentsView
from incidents.projections.open_protests import OpenProtestsView
from incidents.projections.reader import Projections
from incidents.projections.unanswered_notes import UnansweredNote
from incidents.store.protocol import EventStore, RecordedEvent, StreamRow

# Rows a table of the overview lists before it links to the rest.
OVERVIEW_ROWS = 50
LATEST_EVENTS = 12
# The ages of unanswered notes, in days, as the chart groups them.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("under 30 days", 0, 30),
    ("30 to 89 days", 30, 90),
    ("90 to 364 days", 90, 365),
    ("1 to 2 years", 365, 730),
    ("over 2 years", 730, None),
)
DEMAND_STATUSES = ("met", "partially_met", "rejected", "open")

_decode_json = msgspec.json.Decoder().decode
S = TypeVar("S")


# What the charts read of a state, decoded alone (msgspec skips the rest of the JSON).
class _StateOf(msgspec.Struct, frozen=True):
    state: str | None = None


class _NoteReply(msgspec.Struct, frozen=True, rename={"from_": "from"}):
    sent_at: datetime
    answered_at: datetime | None = None
    mission: str | None = None
    from_: _StateOf = _StateOf()
    to: _StateOf = _StateOf()


class _MissionHost(msgspec.Struct, frozen=True):
    receiving_state: str


class _Demand(msgspec.Struct, frozen=True):
    demand: str
    status: str = "open"


class _ProtestDemands(msgspec.Struct, frozen=True):
    demands: list[_Demand] = []


_note_replies = msgspec.json.Decoder(_NoteReply)
_mission_hosts = msgspec.json.Decoder(_MissionHost)
_protest_demands = msgspec.json.Decoder(_ProtestDemands)
# The incidents chart: the latest months, the states with the most incidents.
CHART_MONTHS = 12
CHART_STATES = 10


class WaitingNote(msgspec.Struct, frozen=True):
    """An unanswered note as the overview lists it."""

    note: UnansweredNote
    direction: str  # "sent" by the mission, or "received" by it
    mission: str | None
    mission_name: str | None


class MissionWaiting(msgspec.Struct, frozen=True):
    """A mission with notes waiting for an answer."""

    mission: str | None
    name: str | None
    sent: int
    sent_overdue: int
    received: int
    received_overdue: int
    longest_wait: int


class Counts(msgspec.Struct, frozen=True):
    """The figures at the top of the overview."""

    head_position: int
    missions: int
    unanswered: int
    overdue: int
    open_protests: int
    open_demands: int
    incidents: int


class HistoryEntry(msgspec.Struct, frozen=True):
    """One event of a stream, with what its data says and where that comes from."""

    event: RecordedEvent
    data: dict[str, Any]
    metadata: dict[str, Any]
    sources: list[dict[str, Any]]


async def waiting_notes(
    projections: Projections, moment: Moment | None = None
) -> tuple[list[MissionWaiting], list[WaitingNote]]:
    """Missions with unanswered notes and the notes themselves, longest wait first (as
    they stood at ``moment``, when given)."""
    view = (
        await projections.unanswered_notes()
        if moment is None
        else await projections.past.unanswered_notes(moment)
    )
    missions: list[MissionWaiting] = []
    notes: list[WaitingNote] = []
    for group in view.missions:
        for direction, waiting in (("sent", group.sent), ("received", group.received)):
            notes.extend(
                WaitingNote(note, direction, group.mission, group.name) for note in waiting.notes
            )
        longest = max(group.sent.max_days_waiting or 0, group.received.max_days_waiting or 0)
        missions.append(
            MissionWaiting(
                group.mission,
                group.name,
                group.sent.count,
                group.sent.overdue,
                group.received.count,
                group.received.overdue,
                longest,
            )
        )
    missions.sort(key=lambda row: (-row.longest_wait, row.mission or ""))
    notes.sort(key=lambda row: (-row.note.days_waiting, row.note.stream_id))
    return missions, notes


async def counts(
    projections: Projections, store: EventStore, moment: Moment | None = None
) -> Counts:
    """How many of each thing the log holds now (or held at ``moment``)."""
    head = await store.head()
    if moment is None:
        missions = await projections.missions()
        unanswered = await projections.unanswered_notes()
        protests = await projections.open_protests(limit=1)
        incidents = await projections.incidents(limit=1)
    else:
        missions = await projections.past.missions(moment)
        unanswered = await projections.past.unanswered_notes(moment)
        protests = await projections.past.open_protests(moment, limit=1)
        incidents = await projections.past.incidents(moment, limit=1)
    return Counts(
        head.position,
        missions.count,
        unanswered.total_sent + unanswered.total_received,
        unanswered.total_overdue,
        protests.count,
        protests.open_demands,
        incidents.count,
    )


async def latest_events(
    store: EventStore, limit: int = LATEST_EVENTS, moment: Moment | None = None
) -> list[RecordedEvent]:
    """The last events of the log, newest first (at a past moment: none, the log's order
    is the order of recording, not of occurrence)."""
    if moment is not None:
        return []
    head = await store.head()
    events = await store.read_all(after=max(0, head.position - limit), limit=limit)
    return list(reversed(events))


def _states(rows: Sequence[StreamRow], kind: type[S]) -> list[S]:
    return [msgspec.json.decode(row.state, type=kind) for row in rows]


async def mission_state(
    projections: Projections, mission: str, moment: Moment | None = None
) -> MissionState | None:
    """The mission's folded state, or None when there is no such mission (then)."""
    return await stream_state(projections, mission, MissionState, moment)


async def mission_notes(
    store: EventStore, mission: str, moment: Moment | None = None
) -> list[NoteState]:
    """Every note of the mission, both directions, newest first."""
    notes = await _category(store, "note", NoteState, moment, mission=mission)
    return sorted(notes, key=lambda note: note.sent_at, reverse=True)


async def mission_protests(
    store: EventStore, mission: str, moment: Moment | None = None
) -> list[ProtestState]:
    """Every protest about the mission, newest first."""
    protests = await _category(store, "protest", ProtestState, moment, mission=mission)
    return sorted(protests, key=lambda protest: protest.lodged_at, reverse=True)


async def stream_state(
    projections: Projections, stream_id: str, kind: type[S], moment: Moment | None = None
) -> S | None:
    """One stream's folded state (at ``moment``), or None when it has no events (then)."""
    if moment is None:
        row = await projections.store.get_stream(stream_id)
        return None if row is None else msgspec.json.decode(row.state, type=kind)
    folded = await projections.past.stream(stream_id, moment)
    return folded.state if folded is not None and isinstance(folded.state, kind) else None


async def history(
    store: EventStore, stream_id: str, moment: Moment | None = None
) -> list[HistoryEntry]:
    """The stream's events, first to last (those ``moment`` keeps), each with its data,
    metadata and sources."""
    entries: list[HistoryEntry] = []
    after: int | None = None
    while True:
        events = await store.read_stream(stream_id, from_version=after, limit=500)
        for event in events:
            if moment is not None and not moment.keeps(event):
                continue
            data = _decode_json(event.data)
            metadata = _decode_json(event.metadata)
            sources = data.get("sources") or metadata.get("sources") or []
            entries.append(HistoryEntry(event, data, metadata, list(sources)))
        if len(events) < 500:
            return entries
        after = events[-1].version + 1


def days_between(start: datetime, end: datetime) -> int:
    """Whole days from ``start`` to ``end``."""
    return max(0, (end - start).days)


async def open_protests(
    projections: Projections, moment: Moment | None, limit: int
) -> OpenProtestsView:
    """The open protests, now or at ``moment``."""
    if moment is None:
        return await projections.open_protests(limit=limit)
    return await projections.past.open_protests(moment, limit=limit)


async def incidents_by_state_and_month(
    projections: Projections, moment: Moment | None = None
) -> tuple[list[str], list[tuple[str, dict[str, int]]]]:
    """Incidents per host state, split by month: the months, and a row per state."""

    async def view_of(host_state: str | None) -> IncidentsView:
        where = IncidentFilter(host_state=host_state)
        if moment is None:
            return await projections.incidents(where, limit=1)
        return await projections.past.incidents(moment, where, limit=1)

    everything = await view_of(None)
    months = sorted(everything.by_month)[-CHART_MONTHS:]
    busiest = sorted(everything.by_host_state.items(), key=lambda item: (-item[1], item[0]))
    rows: list[tuple[str, dict[str, int]]] = []
    for state, _ in busiest[:CHART_STATES]:
        view = await view_of(state)
        rows.append((state, {month: view.by_month.get(month, 0) for month in months}))
    return months, rows


def note_ages(notes: Sequence[WaitingNote]) -> list[tuple[str, float]]:
    """How many unanswered notes have waited how long, by band of days."""
    counted: Counter[str] = Counter()
    for row in notes:
        for label, low, high in AGE_BANDS:
            if row.note.days_waiting >= low and (high is None or row.note.days_waiting < high):
                counted[label] += 1
    return [(label, counted[label]) for label, _, _ in AGE_BANDS]


async def _category(
    store: EventStore, category: str, kind: type[S], moment: Moment | None, **filters: Any
) -> list[S]:
    """A category's stream states, now or folded at ``moment``."""
    if moment is None:
        return _states(await store.list_streams(category, **filters), kind)
    return [
        folded.state
        async for folded in category_in_time(store, category, moment)
        if isinstance(folded.state, kind)
        and all(getattr(folded.state, key) == value for key, value in filters.items())
    ]


async def reply_times(store: EventStore, moment: Moment | None = None) -> list[tuple[str, float]]:
    """Median days from a note to its reply, per host state (the receiving state of the
    note's mission, else the state the note went to)."""
    if moment is None:
        hosts = {
            row.stream_id: _mission_hosts.decode(row.state).receiving_state
            for row in await store.list_streams("mission")
        }
        notes = [_note_replies.decode(row.state) for row in await store.list_streams("note")]
    else:
        hosts = {
            mission.stream_id: mission.receiving_state
            for mission in await _category(store, "mission", MissionState, moment)
        }
        notes = [
            _NoteReply(
                n.sent_at, n.answered_at, n.mission, _StateOf(n.from_.state), _StateOf(n.to.state)
            )
            for n in await _category(store, "note", NoteState, moment)
        ]
    days: defaultdict[str, list[int]] = defaultdict(list)
    for note in notes:
        if note.answered_at is None:
            continue
        host = hosts.get(note.mission or "") or note.to.state
        if host is None:
            continue
        days[host].append(days_between(note.sent_at, note.answered_at))
    return sorted((state, float(statistics.median(values))) for state, values in days.items())


async def demand_outcomes(
    store: EventStore, moment: Moment | None = None
) -> list[tuple[str, dict[str, int]]]:
    """Demands met, partially met, refused and open, per kind of demand."""
    tally: defaultdict[str, Counter[str]] = defaultdict(Counter)
    protests: list[Any] = (
        [_protest_demands.decode(row.state) for row in await store.list_streams("protest")]
        if moment is None
        else await _category(store, "protest", ProtestState, moment)
    )
    for protest in protests:
        for demand in protest.demands:
            tally[demand.demand][demand.status] += 1
    return [(demand.replace("_", " "), dict(tally[demand])) for demand in sorted(tally)]


async def mission_incidents(
    store: EventStore, mission: str, moment: Moment | None = None
) -> list[IncidentState]:
    """Every incident at the mission, newest first."""
    incidents = await _category(store, "incident", IncidentState, moment, mission=mission)
    return sorted(incidents, key=lambda incident: incident.occurred_at, reverse=True)
