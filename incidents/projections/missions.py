"""One summary row per mission: incidents, notes sent and unanswered, open protests."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from incidents.domain.state import MissionState, NoteState, ProtestState, bound
from incidents.domain.times import date_label
from incidents.store.protocol import MissionTally, StreamRow


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


_NOTE_FROM = "note:from:"
_NOTE_UNANSWERED_FROM = "note:unanswered:from:"
# The labels (incidents.domain.rules.tallies_of) that count as they are.
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
    return MissionSummary(
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
        **counts,
    )


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
