"""Loads the per-stream states a read model needs from the store and builds the view.

States are kept current by the store's writer in the same transaction as each append, so a
view built here reflects every append acknowledged before the read began.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar, cast

from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    decode_state,
)
from incidents.projections.incidents_by_mission import IncidentsView, incidents_view
from incidents.projections.missions import MissionsView, missions_view
from incidents.projections.open_protests import OpenProtestsView, open_protests
from incidents.projections.unanswered_notes import UnansweredNotesView, unanswered_notes
from incidents.store.protocol import EventStore, StreamRow

S = TypeVar("S")


def _decode(rows: list[StreamRow], kind: type[S]) -> list[S]:
    return [cast(S, decode_state(row.category, bytes(row.state))) for row in rows]


class Projections:
    """The four read models of the contract, read from the store's stream states."""

    def __init__(
        self, store: EventStore, reply_window_days: int, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.reply_window_days = reply_window_days
        self.clock = clock

    async def _missions(self) -> list[MissionState]:
        return _decode(await self.store.list_streams("mission"), MissionState)

    async def unanswered_notes(self, mission: str | None = None) -> UnansweredNotesView:
        """Open notes of every mission (or one), in both directions."""
        notes = _decode(
            await self.store.list_streams("note", mission=mission, is_open=True), NoteState
        )
        return unanswered_notes(notes, await self._missions(), self.clock(), self.reply_window_days)

    async def open_protests(
        self, by: str | None = None, to: str | None = None, mission: str | None = None
    ) -> OpenProtestsView:
        """Protests not closed, with their open demands."""
        protests = _decode(
            await self.store.list_streams("protest", mission=mission, is_open=True), ProtestState
        )
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
        incidents = _decode(
            await self.store.list_streams("incident", mission=mission), IncidentState
        )
        return incidents_view(
            incidents, await self._missions(), mission, host_state, kind, since, until
        )

    async def missions(self) -> MissionsView:
        """One summary row per mission."""
        mission_rows = await self.store.list_streams("mission")
        related = [
            row
            for category in ("incident", "protest", "note")
            for row in await self.store.list_streams(category)
        ]
        notes = _decode([row for row in related if row.category == "note"], NoteState)
        pairs = [
            (row, cast(MissionState, decode_state("mission", bytes(row.state))))
            for row in mission_rows
        ]
        return missions_view(pairs, related, notes)
