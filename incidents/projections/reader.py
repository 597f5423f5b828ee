"""Loads the per-stream states a read model needs from the store and builds the view.

States are kept current by the store's writer in the same transaction as each append, so a
view built here reflects every append acknowledged before the read began.

A stream's state document holds its whole history (every event's data, sources with their
quotes); the views read a handful of its fields. Each view's states are therefore decoded
into a small Struct of just those fields (``_NoteFacts`` and the like): msgspec skips the
rest of the document without building it, which is most of the cost of decoding a state.
The views get them in place of the full states; tests/unit/test_perf_reader.py checks that
every field a view reads is there and that the views come out the same.

Rows are read a page at a time (``list_streams`` with ``after`` and ``limit``) and decoded
page by page, so a read holds one page of states at once, not every state it lists. The
missions view, which counts every incident, protest and note, reads none of them: it sets
the store's per-mission tallies beside the mission streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import msgspec

from incidents.domain.events import Location, Party
from incidents.domain.state import (
    CorrespondenceEntry,
    DemandStatus,
    HeadOfMission,
    IncidentState,
    IncidentStatus,
    MissionState,
    NoteState,
    NoteStatus,
    ProtestState,
    ProtestStatus,
)
from incidents.projections.incidents_by_mission import IncidentsView, incidents_view
from incidents.projections.missions import MissionsView, missions_from_tallies
from incidents.projections.open_protests import OpenProtestsView, open_protests
from incidents.projections.unanswered_notes import UnansweredNotesView, unanswered_notes
from incidents.store.protocol import EventStore, StreamRow

S = TypeVar("S")


class _Facts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of the views' slices of a state; unknown fields (the rest) are skipped."""

    stream_id: str


class _MissionFacts(_Facts, frozen=True, kw_only=True):
    """What the views read of a MissionState."""

    sending_state: str
    receiving_state: str
    city: str
    kind: str
    name: str
    reply_window_days: int | None = None
    head_of_mission: HeadOfMission | None = None
    correspondence: list[CorrespondenceEntry] = []


class _NoteFacts(_Facts, frozen=True, kw_only=True):
    """What unanswered_notes and missions_view read of a NoteState."""

    status: NoteStatus
    from_: Party = msgspec.field(name="from")
    to: Party
    subject: str
    sent_at: datetime
    mission: str | None = None
    reference: str | None = None
    about_incident: str | None = None
    reply_due_at: datetime | None = None


class _DemandFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What open_protests reads of a DemandState."""

    demand: str
    status: DemandStatus = "open"
    answered_at: datetime | None = None


class _ProtestFacts(_Facts, frozen=True, kw_only=True):
    """What open_protests reads of a ProtestState (responses are only counted)."""

    status: ProtestStatus
    by: Party
    to: Party
    form: str
    lodged_at: datetime
    mission: str | None = None
    about_incident: str | None = None
    demands: list[_DemandFacts] = []
    responses: list[msgspec.Raw] = []


class _IncidentFacts(_Facts, frozen=True, kw_only=True):
    """What incidents_view reads of an IncidentState."""

    status: IncidentStatus
    kind: str
    title: str
    occurred_at: datetime
    mission: str | None = None
    location: Location | None = None
    response_minutes: float | None = None


# Each slice's decoder, and the full state type whose place it takes in the views.
_SLICES: dict[type[Any], msgspec.json.Decoder[Any]] = {
    MissionState: msgspec.json.Decoder(_MissionFacts),
    NoteState: msgspec.json.Decoder(_NoteFacts),
    ProtestState: msgspec.json.Decoder(_ProtestFacts),
    IncidentState: msgspec.json.Decoder(_IncidentFacts),
}


# Rows a paged read takes at a time: a few MB of states.
_PAGE_SIZE = 1000


def _decode(rows: Sequence[StreamRow], kind: type[S]) -> list[S]:
    """The rows' states as the view of ``kind`` reads them (a slice standing in for it)."""
    decode = _SLICES[kind].decode
    return [cast(S, decode(row.state)) for row in rows]


async def _pages(
    store: EventStore, category: str, mission: str | None = None, is_open: bool | None = None
) -> AsyncIterator[list[StreamRow]]:
    """What ``list_streams`` lists, a page at a time: each page can be decoded into the
    view's slices and let go, so a read holds one page of states, not all of them."""
    after: str | None = None
    while True:
        page = await store.list_streams(category, mission, is_open, after, _PAGE_SIZE)
        if page:
            yield page
        if len(page) < _PAGE_SIZE:
            return
        after = page[-1].stream_id


async def _load(
    store: EventStore,
    kind: type[S],
    category: str,
    mission: str | None = None,
    is_open: bool | None = None,
) -> list[S]:
    """The slices of the streams ``list_streams`` lists, read a page at a time."""
    loaded: list[S] = []
    async for page in _pages(store, category, mission, is_open):
        loaded.extend(_decode(page, kind))
    return loaded


class Projections:
    """The four read models of the contract, read from the store's stream states."""

    def __init__(
        self, store: EventStore, reply_window_days: int, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.reply_window_days = reply_window_days
        self.clock = clock

    async def _missions(self, mission: str | None = None) -> list[MissionState]:
        """Every mission, or only the one named: a view filtered on one mission looks up
        no other (its rows all name that mission)."""
        if mission is None:
            return await _load(self.store, MissionState, "mission")
        row = await self.store.get_stream(mission) if mission.startswith("mission-") else None
        return [] if row is None else _decode([row], MissionState)

    async def unanswered_notes(self, mission: str | None = None) -> UnansweredNotesView:
        """Open notes of every mission (or one), in both directions."""
        notes = await _load(self.store, NoteState, "note", mission, is_open=True)
        return unanswered_notes(
            notes, await self._missions(mission), self.clock(), self.reply_window_days
        )

    async def open_protests(
        self, by: str | None = None, to: str | None = None, mission: str | None = None
    ) -> OpenProtestsView:
        """Protests not closed, with their open demands."""
        protests = await _load(self.store, ProtestState, "protest", mission, is_open=True)
        return open_protests(protests, self.clock(), by=by, to=to, mission=mission)

    async def incidents(
        self,
        mission: str | None = None,
        host_state: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> IncidentsView:
        """Incidents by mission and host state over time."""
        incidents = await _load(self.store, IncidentState, "incident", mission)
        return incidents_view(
            incidents, await self._missions(mission), mission, host_state, kind, since, until
        )

    async def missions(self) -> MissionsView:
        """One summary row per mission.

        Built from the mission streams and the tallies the store keeps per mission in the
        append's transaction (``EventStore.mission_tallies``): no incident, protest or
        note is read, however long the log.
        """
        # Two independent reads: each pooled reader runs its query while the other does.
        mission_rows, tallies = await asyncio.gather(
            self.store.list_streams("mission"), self.store.mission_tallies()
        )
        pairs = list(zip(mission_rows, _decode(mission_rows, MissionState), strict=True))
        return missions_from_tallies(pairs, tallies)
