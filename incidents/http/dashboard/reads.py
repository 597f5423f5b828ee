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


async def waiting_notes(projections: Projections) -> tuple[list[MissionWaiting], list[WaitingNote]]:
    """Missions with unanswered notes and the notes themselves, longest wait first."""
    view = await projections.unanswered_notes()
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


async def counts(projections: Projections, store: EventStore) -> Counts:
    """How many of each thing the log holds now."""
    head = await store.head()
    missions = await projections.missions()
    unanswered = await projections.unanswered_notes()
    protests = await projections.open_protests(limit=1)
    incidents = await projections.incidents(limit=1)
    return Counts(
        head.position,
        missions.count,
        unanswered.total_sent + unanswered.total_received,
        unanswered.total_overdue,
        protests.count,
        protests.open_demands,
        incidents.count,
    )


async def latest_events(store: EventStore, limit: int = LATEST_EVENTS) -> list[RecordedEvent]:
    """The last events of the log, newest first."""
    head = await store.head()
    events = await store.read_all(after=max(0, head.position - limit), limit=limit)
    return list(reversed(events))


def _states(rows: Sequence[StreamRow], kind: type[S]) -> list[S]:
    return [msgspec.json.decode(row.state, type=kind) for row in rows]


async def mission_state(store: EventStore, mission: str) -> MissionState | None:
    """The mission's folded state, or None when there is no such mission."""
    row = await store.get_stream(mission)
    if row is None or row.category != "mission":
        return None
    return msgspec.json.decode(row.state, type=MissionState)


async def mission_notes(store: EventStore, mission: str) -> list[NoteState]:
    """Every note of the mission, both directions, newest first."""
    notes = _states(await store.list_streams("note", mission=mission), NoteState)
    return sorted(notes, key=lambda note: note.sent_at, reverse=True)


async def mission_protests(store: EventStore, mission: str) -> list[ProtestState]:
    """Every protest about the mission, newest first."""
    protests = _states(await store.list_streams("protest", mission=mission), ProtestState)
    return sorted(protests, key=lambda protest: protest.lodged_at, reverse=True)


async def stream_state(store: EventStore, stream_id: str, kind: type[S]) -> S | None:
    """One stream's folded state, or None when it has no events."""
    row = await store.get_stream(stream_id)
    if row is None:
        return None
    return msgspec.json.decode(row.state, type=kind)


async def history(store: EventStore, stream_id: str) -> list[HistoryEntry]:
    """The stream's events, first to last, each with its data, metadata and sources."""
    entries: list[HistoryEntry] = []
    after: int | None = None
    while True:
        events = await store.read_stream(stream_id, from_version=after, limit=500)
        for event in events:
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


async def incidents_by_state_and_month(
    projections: Projections,
) -> tuple[list[str], list[tuple[str, dict[str, int]]]]:
    """Incidents per host state, split by month: the months, and a row per state."""
    everything = await projections.incidents(limit=1)
    rows: list[tuple[str, dict[str, int]]] = []
    months: set[str] = set()
    for state in everything.by_host_state:
        view = await projections.incidents(host_state=state, limit=1)
        rows.append((state, dict(view.by_month)))
        months.update(view.by_month)
    return sorted(months), rows


def note_ages(notes: Sequence[WaitingNote]) -> list[tuple[str, float]]:
    """How many unanswered notes have waited how long, by band of days."""
    counted: Counter[str] = Counter()
    for row in notes:
        for label, low, high in AGE_BANDS:
            if row.note.days_waiting >= low and (high is None or row.note.days_waiting < high):
                counted[label] += 1
    return [(label, counted[label]) for label, _, _ in AGE_BANDS]


async def reply_times(store: EventStore) -> list[tuple[str, float]]:
    """Median days from a note to its reply, per host state (the state the note went to
    when the mission sent it, or came from when the mission received it)."""
    missions = {
        row.stream_id: msgspec.json.decode(row.state, type=MissionState)
        for row in await store.list_streams("mission")
    }
    days: defaultdict[str, list[int]] = defaultdict(list)
    for note in _states(await store.list_streams("note", is_open=False), NoteState):
        if note.answered_at is None:
            continue
        mission = missions.get(note.mission or "")
        host = mission.receiving_state if mission is not None else note.to.state
        if host is None:
            continue
        days[host].append(days_between(note.sent_at, note.answered_at))
    return sorted((state, float(statistics.median(values))) for state, values in days.items())


async def demand_outcomes(store: EventStore) -> list[tuple[str, dict[str, int]]]:
    """Demands met, partially met, refused and open, per kind of demand."""
    tally: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for protest in _states(await store.list_streams("protest"), ProtestState):
        for demand in protest.demands:
            tally[demand.demand][demand.status] += 1
    return [(demand.replace("_", " "), dict(tally[demand])) for demand in sorted(tally)]


async def mission_incidents(store: EventStore, mission: str) -> list[IncidentState]:
    """Every incident at the mission, newest first."""
    incidents = _states(await store.list_streams("incident", mission=mission), IncidentState)
    return sorted(incidents, key=lambda incident: incident.occurred_at, reverse=True)
