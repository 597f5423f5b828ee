"""One summary row per mission: incidents, notes sent and unanswered, open protests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from incidents.domain.state import MissionState, NoteState
from incidents.store.protocol import StreamRow


class MissionSummary(msgspec.Struct, frozen=True):
    """What a desk officer sees first about one mission."""

    mission: str
    name: str
    sending_state: str
    receiving_state: str
    city: str
    kind: str
    head_of_mission: str | None = None
    incidents: int = 0
    open_incidents: int = 0
    notes_sent: int = 0
    notes_sent_unanswered: int = 0
    notes_received: int = 0
    notes_received_unanswered: int = 0
    open_protests: int = 0
    latest_position: int = 0
    latest_recorded_at: datetime | None = None


class MissionsView(msgspec.Struct, frozen=True):
    """The read model: every mission, by stream id."""

    count: int
    missions: list[MissionSummary]


def missions_view(
    missions: Iterable[tuple[StreamRow, MissionState]],
    related: Iterable[StreamRow],
    notes: Iterable[NoteState],
) -> MissionsView:
    """Summarise each mission from its own stream and the streams that name it."""
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

    rows = []
    for mission_id in sorted(states):
        state = states[mission_id]
        position, recorded_at = latest[mission_id]
        head = state.head_of_mission
        rows.append(
            MissionSummary(
                mission=mission_id,
                name=state.name,
                sending_state=state.sending_state,
                receiving_state=state.receiving_state,
                city=state.city,
                kind=state.kind,
                head_of_mission=head.status if head else None,
                latest_position=position,
                latest_recorded_at=recorded_at,
                **counts[mission_id],
            )
        )
    return MissionsView(count=len(rows), missions=rows)
