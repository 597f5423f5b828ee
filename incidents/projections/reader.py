"""Loads the per-stream states a read model needs from the store and builds the view.

States are kept current by the store's writer in the same transaction as each append, so a
view built here reflects every append acknowledged before the read began.

The views read a handful of each state's fields: each view's states are decoded into a
small Struct of just those (:mod:`incidents.projections.slices`).

Rows are read a page at a time (``list_streams`` with ``after`` and ``limit``) and decoded
page by page, so a read holds one page of states at once, not every state it lists. The
missions view, which counts every incident, protest and note, reads none of them: it sets
the store's per-mission tallies beside the mission streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TypeVar

from incidents.domain.state import IncidentState, MissionState, NoteState, ProtestState
from incidents.projections.incidents_by_mission import IncidentsView, incidents_view
from incidents.projections.missions import MissionsView, missions_from_tallies
from incidents.projections.open_protests import OpenProtestsView, open_protests
from incidents.projections.slices import decode_rows
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
        return [] if row is None else decode_rows([row], MissionState)

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
        pairs = list(zip(mission_rows, decode_rows(mission_rows, MissionState), strict=True))
        return missions_from_tallies(pairs, tallies)
