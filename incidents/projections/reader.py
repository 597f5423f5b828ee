"""Builds the read models from the per-stream states the store keeps current.

States are updated by the store's writer in the same transaction as each append. The
missions, the open notes of the missions asked about, and where every open protest and
every incident comes in its view are held in memory and caught up with the log at the start
of each read (:mod:`incidents.projections.states`, :mod:`incidents.projections.ordered`); a
page of protests or incidents then reads its own rows from the store, each decoded into a
small slice of the fields the view reads (:mod:`incidents.projections.slices`). Either way a
view reflects every append acknowledged before the read began.

Views whose answer grows with the log come a page at a time: ``after`` is where the last
page ended (the view's ``next_after``), ``limit`` how much a page holds (None: all).
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import msgspec

from incidents.domain.state import IncidentState, NoteState, ProtestState
from incidents.projections.in_time import PastViews
from incidents.projections.incidents_by_mission import (
    ANY_INCIDENT,
    IncidentFilter,
    IncidentsView,
    incident_row,
    incidents_page,
    select_incidents,
)
from incidents.projections.missions import (
    MissionsView,
    MissionTally,
    missions_from_tallies,
    with_protests_handed_to,
)
from incidents.projections.open_protests import (
    ANY_PROTEST,
    HANDED_TO,
    OpenProtestsView,
    ProtestFilter,
    ProtestKey,
    open_protests_page,
    protest_order,
    select_open_protests,
)
from incidents.projections.slices import decode_rows
from incidents.projections.states import CurrentStates
from incidents.projections.unanswered_notes import UnansweredNotesView, unanswered_notes
from incidents.store.protocol import EventStore

S = TypeVar("S")

_UNANSWERED = "note:unanswered:from:"


class CursorError(ValueError):
    """A page's ``after`` names no stream the view can go on from."""


@functools.lru_cache(maxsize=4096)
def _counts_unanswered(label: str) -> bool:
    return label.startswith(_UNANSWERED)


def _has_unanswered(tally: MissionTally) -> bool:
    return any(n > 0 and _counts_unanswered(label) for label, n in tally.counts.items())


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
        # The same views at a past moment (``as_of``, ``known_at``).
        self.past = PastViews(store, reply_window_days, clock)
        self._missions_view: tuple[int, MissionsView] | None = None
        self._noted: tuple[list[MissionTally], list[str]] | None = None

    async def unanswered_notes(
        self, mission: str | None = None, after: str | None = None, limit: int | None = None
    ) -> UnansweredNotesView:
        """Open notes in both directions, of one mission or of a page of missions.

        Without ``mission``, a page holds the ``limit`` missions with unanswered notes that
        come after ``after`` in stream id order, each with all its notes; notes that name
        no mission come last, on the page that ends the list when it has room for them.
        """
        async with self.states.current() as states:
            missions = await states.missions()
            names = (
                [mission]
                if mission is not None
                else self._with_unanswered_notes(await states.tallies())
            )
            start = 0 if after is None else bisect_right(names, after)
            end = len(names) if limit is None else min(len(names), start + limit)
            notes: list[NoteState] = []
            for name in names[start:end]:
                notes.extend(await states.open_streams("note", name))
            has_more = end < len(names)
            if mission is None and not has_more:
                nameless = await states.open_streams("note", None)
                if limit is None or end - start < limit:
                    notes.extend(nameless)
                else:
                    has_more = bool(nameless)
        view = unanswered_notes(
            notes,
            (state for _, state in missions.values()),
            self.clock(),
            self.reply_window_days,
        )
        next_after = names[end - 1] if end > start else after
        return msgspec.structs.replace(view, next_after=next_after, has_more=has_more)

    async def open_protests(
        self, where: ProtestFilter = ANY_PROTEST, after: str | None = None, limit: int | None = None
    ) -> OpenProtestsView:
        """Protests not closed that match ``where``, with their open demands, oldest first:
        the ``limit`` that come after the protest ``after``."""
        async with self.states.current() as states:
            held = await states.open_protests()
            key = None if after is None else held.key_of(after)
            if key is None and after is not None:
                key = await self._protest_key(after)
            page = select_open_protests(held, where, key, limit)
            protests = await self._states(page.stream_ids, ProtestState)
        return open_protests_page(page, protests, self.clock(), after)

    async def incidents(
        self,
        where: IncidentFilter = ANY_INCIDENT,
        after: str | None = None,
        limit: int | None = None,
    ) -> IncidentsView:
        """Incidents that match ``where``, newest first: the ``limit`` that come after the
        incident ``after``."""
        async with self.states.current() as states:
            held = await states.incidents()
            key = None if after is None else held.key_of(after)
            if key is None and after is not None:
                raise CursorError(f"after={after!r} is not an incident of this log")
            page = select_incidents(held, where, key, limit)
            incidents = await self._states(page.stream_ids, IncidentState)
            receiving = states.receiving_states
        rows = [incident_row(incident, receiving) for incident in incidents]
        return incidents_page(page, rows, after)

    async def missions(self) -> MissionsView:
        """One summary row per mission.

        Built from the mission streams and the tallies the store keeps per mission in the
        append's transaction (``projections.missions.MissionTallies``): no incident, protest or
        note is read, however long the log. Built again only when the log has moved.
        """
        async with self.states.current() as states:
            built = self._missions_view
            if built is not None and built[0] == states.position:
                return built[1]
            missions = await states.missions()
            view = missions_from_tallies(missions.values(), await states.tallies())
            protests = await states.open_protests()
            view = with_protests_handed_to(
                view, {m: len(protests.select([(HANDED_TO, m)])[0]) for m in missions}
            )
            self._missions_view = (states.position, view)
        return view

    def _with_unanswered_notes(self, tallies: list[MissionTally]) -> list[str]:
        """The missions with unanswered notes, in stream id order (worked out once for each
        reading of the tallies)."""
        if self._noted is None or self._noted[0] is not tallies:
            names = sorted(tally.mission for tally in tallies if _has_unanswered(tally))
            self._noted = (tallies, names)
        return self._noted[1]

    async def _states(self, stream_ids: list[str], kind: type[S]) -> list[S]:
        """The slices of the streams' states, in the order given (those with no row left
        out)."""
        rows = await self.store.get_streams(stream_ids)
        return decode_rows([rows[id_] for id_ in stream_ids if id_ in rows], kind)

    async def _protest_key(self, after: str) -> ProtestKey:
        """Where the protest ``after``, not open now, comes in the view (closed since, it
        still has a place)."""
        row = await self.store.get_stream(after)
        if row is None or row.category != "protest":
            raise CursorError(f"after={after!r} is not a protest of this log")
        return protest_order(decode_rows([row], ProtestState)[0])
