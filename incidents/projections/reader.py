"""Builds the read models from the per-stream states the store keeps current.

States are updated by the store's writer in the same transaction as each append. The
missions, and the open notes and protests of the missions asked about, are held in memory
and caught up with the log at the start of each read (:mod:`incidents.projections.states`);
the other reads list their streams from the store, a page of rows at a time, each decoded
into a small slice of the fields the view reads (:mod:`incidents.projections.slices`). Either
way a view reflects every append acknowledged before the read began.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TypeVar

from incidents.domain.state import IncidentState, NoteState, ProtestState
from incidents.projections.incidents_by_mission import IncidentsView, incidents_view
from incidents.projections.missions import MissionsView, missions_from_tallies
from incidents.projections.open_protests import OpenProtestsView, open_protests
from incidents.projections.slices import decode_rows
from incidents.projections.states import CurrentStates
from incidents.projections.unanswered_notes import UnansweredNotesView, unanswered_notes
from incidents.store.protocol import EventStore, StreamRow

S = TypeVar("S")

# Rows a paged read takes at a time: a few MB of states.
_PAGE_SIZE = 1000


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
        loaded.extend(decode_rows(page, kind))
    return loaded


class Projections:
    """The four read models of the contract, read from the store's stream states."""

    def __init__(
        self,
        store: EventStore,
        reply_window_days: int,
        clock: Callable[[], datetime],
        *,
        max_held_streams: int = 20_000,
    ) -> None:
        self.store = store
        self.reply_window_days = reply_window_days
        self.clock = clock
        self.states = CurrentStates(store, max_streams=max_held_streams)
        self._missions_view: tuple[int, MissionsView] | None = None

    async def unanswered_notes(self, mission: str | None = None) -> UnansweredNotesView:
        """Open notes in both directions, of every mission or of one."""
        async with self.states.current() as states:
            missions = [state for _, state in (await states.missions()).values()]
            if mission is not None:
                notes = await states.open_streams("note", mission)
        if mission is None:
            notes = await _load(self.store, NoteState, "note", None, is_open=True)
        return unanswered_notes(notes, missions, self.clock(), self.reply_window_days)

    async def open_protests(
        self, by: str | None = None, to: str | None = None, mission: str | None = None
    ) -> OpenProtestsView:
        """Protests not closed, with their open demands."""
        protests: list[ProtestState]
        if mission is not None:
            async with self.states.current() as states:
                protests = await states.open_streams("protest", mission)
        else:
            protests = await _load(self.store, ProtestState, "protest", None, is_open=True)
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
        async with self.states.current() as states:
            missions = [state for _, state in (await states.missions()).values()]
        incidents = await _load(self.store, IncidentState, "incident", mission)
        return incidents_view(incidents, missions, mission, host_state, kind, since, until)

    async def missions(self) -> MissionsView:
        """One summary row per mission.

        Built from the mission streams and the tallies the store keeps per mission in the
        append's transaction (``EventStore.mission_tallies``): no incident, protest or
        note is read, however long the log. Built again only when the log has moved.
        """
        async with self.states.current() as states:
            built = self._missions_view
            if built is not None and built[0] == states.position:
                return built[1]
            missions = await states.missions()
            view = missions_from_tallies(missions.values(), await states.tallies())
            self._missions_view = (states.position, view)
        return view
