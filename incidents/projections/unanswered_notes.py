"""Unanswered notes per mission, in both directions.

For each mission: the notes it sent that have no reply yet ("sent": awaiting the other side)
and the notes addressed to it that it has not answered ("received": awaiting ours). A note's
direction follows its sender: a note whose ``from`` party is of the mission's sending state
went out from the mission's side. Notes name their mission in ``mission``; notes that name
none are grouped under ``mission: null``, after every mission.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from incidents.domain.events import Party, Source
from incidents.domain.state import CorrespondenceEntry, MissionState, NoteState, bound
from incidents.domain.times import date_label

Direction = Literal["sent", "received"]


class UnansweredNote(msgspec.Struct, frozen=True):
    """One note still waiting for its reply."""

    stream_id: str
    subject: str
    from_: Party = msgspec.field(name="from")
    to: Party | None = None
    status: str = "sent"
    sent_at: datetime | None = None
    days_waiting: int = 0
    reply_due_at: datetime | None = None
    due_at: datetime | None = None
    overdue: bool = False
    reference: str | None = None
    about_incident: str | None = None
    # The note's citations (document and quote), with include=sources.
    sources: list[Source] | None = None
    # How well the text dates sent_at (as the incidents view gives an incident's date): a
    # date known to a day is not shown as the midnight it is stored at.
    occurred_precision: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    occurred_label: str | None = None


class NotesWaiting(msgspec.Struct, frozen=True):
    """The notes of one direction of one mission."""

    count: int = 0
    overdue: int = 0
    oldest_sent_at: datetime | None = None
    max_days_waiting: int | None = None
    notes: list[UnansweredNote] = msgspec.field(default_factory=list)


class MissionNotes(msgspec.Struct, frozen=True):
    """One mission's unanswered notes.

    ``reported_in_bulk`` is correspondence the mission's texts report only in bulk ("about
    50 notes and letters since 2017"), with whatever replies they report: shown beside the
    individual notes, never counted among them, since its notes have no dates of their own.
    """

    mission: str | None
    name: str | None = None
    sending_state: str | None = None
    receiving_state: str | None = None
    sent: NotesWaiting = msgspec.field(default_factory=NotesWaiting)
    received: NotesWaiting = msgspec.field(default_factory=NotesWaiting)
    reported_in_bulk: list[CorrespondenceEntry] = msgspec.field(default_factory=list)


class UnansweredNotesView(msgspec.Struct, frozen=True):
    """The read model: missions with unanswered notes, and their totals.

    Read a page of missions at a time: the totals are those of the missions listed; pass
    ``next_after`` as ``after`` for the next page (``has_more``).
    """

    generated_at: datetime
    reply_window_days: int
    missions: list[MissionNotes]
    total_sent: int
    total_received: int
    total_overdue: int
    next_after: str | None = None
    has_more: bool = False
    # The moment a view in time was computed for (GET ...?as_of=&known_at=); null for now.
    as_of: datetime | None = None
    known_at: datetime | None = None


def _direction(note: NoteState, mission: MissionState | None) -> Direction:
    if mission is None or note.from_.state is None:
        return "sent"
    return "sent" if note.from_.state == mission.sending_state else "received"


def _waiting(notes: list[NoteState], now: datetime, window: timedelta) -> NotesWaiting:
    rows: list[UnansweredNote] = []
    for note in sorted(notes, key=lambda n: (n.sent_at, n.stream_id)):
        due_at = note.reply_due_at or note.sent_at + window
        after, before = bound(note.occurred_after), bound(note.occurred_before)
        rows.append(
            UnansweredNote(
                stream_id=note.stream_id,
                subject=note.subject,
                from_=note.from_,
                to=note.to,
                status=note.status,
                sent_at=note.sent_at,
                days_waiting=max(0, (now - note.sent_at).days),
                reply_due_at=note.reply_due_at,
                due_at=due_at,
                overdue=now > due_at,
                reference=note.reference,
                about_incident=note.about_incident,
                occurred_precision=note.occurred_precision,
                occurred_after=after,
                occurred_before=before,
                occurred_label=date_label(
                    note.sent_at, note.occurred_precision, note.occurred_zone, after, before
                ),
            )
        )
    if not rows:
        return NotesWaiting()
    return NotesWaiting(
        count=len(rows),
        overdue=sum(1 for row in rows if row.overdue),
        oldest_sent_at=rows[0].sent_at,
        max_days_waiting=rows[0].days_waiting,
        notes=rows,
    )


def unanswered_notes(
    notes: Iterable[NoteState],
    missions: Iterable[MissionState],
    now: datetime,
    reply_window_days: int,
) -> UnansweredNotesView:
    """Group open notes by mission and direction; count, age and flag the overdue ones."""
    by_id = {mission.stream_id: mission for mission in missions}
    grouped: dict[str | None, dict[Direction, list[NoteState]]] = {}
    for note in notes:
        if note.status not in ("sent", "acknowledged"):
            continue
        mission = by_id.get(note.mission) if note.mission else None
        sides = grouped.setdefault(note.mission, {"sent": [], "received": []})
        sides[_direction(note, mission)].append(note)
    rows: list[MissionNotes] = []
    for mission_id in sorted(grouped, key=lambda m: (m is None, m or "")):
        mission = by_id.get(mission_id) if mission_id else None
        window = timedelta(
            days=(mission.reply_window_days if mission and mission.reply_window_days else None)
            or reply_window_days
        )
        sides = grouped[mission_id]
        rows.append(
            MissionNotes(
                mission=mission_id,
                name=mission.name if mission else None,
                sending_state=mission.sending_state if mission else None,
                receiving_state=mission.receiving_state if mission else None,
                sent=_waiting(sides["sent"], now, window),
                received=_waiting(sides["received"], now, window),
                reported_in_bulk=list(mission.correspondence) if mission else [],
            )
        )
    return UnansweredNotesView(
        generated_at=now,
        reply_window_days=reply_window_days,
        missions=rows,
        total_sent=sum(row.sent.count for row in rows),
        total_received=sum(row.received.count for row in rows),
        total_overdue=sum(row.sent.overdue + row.received.overdue for row in rows),
    )
