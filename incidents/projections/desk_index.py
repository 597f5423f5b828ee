"""The desk's views held in memory and caught up with the log, as :class:`CurrentStates` is.

At 1,000,000 events a mission touches some 5,000 of them, and the response times and the
ladder fold every note, protest, incident and statement. Read from the store on each request
that would cost seconds. :class:`DeskIndex` holds instead

- for each mission, the order keys of the events that touch it (two flat arrays: the
  ``occurred_at`` as a POSIX timestamp and the position; 16 bytes an event), so that a page
  of a timeline is a bisect, a slice and a read of that page's events by position, and
  beside them the first and last instants of each event's span (16 bytes more), which a
  timeline at a moment keeps by;
- each stream's missions (what its opening event names, see
  :func:`incidents.projections.desk.missions_touched`);
- lean slices of every note, protest, incident, statement and mission state (the fields the
  views read, no sources);
- the statements, response-times and relations views last built, with the log position
  they reflect: built again only when the log has moved.

Every read first catches up: the events after the checkpoint (``read_all``), whose streams'
rows it reads again (``get_streams``). The first read loads everything (the whole log once,
every stream's row once). A view asked ``include=sources`` is folded from the full states
read afresh from the store, since sources are not held; a view asked for a moment
(``as_of``, ``known_at``) from the states folded for it (:func:`states_at`),
and a timeline at a moment is the held keys that occurred by ``as_of`` (by the moment's
``dates`` rule over their spans) and were recorded by ``known_at``.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import msgspec

from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    StatementState,
    decode_state,
)
from incidents.domain.times import DateRule
from incidents.projections.desk import (
    RelationsView,
    ResponseTimesView,
    StatementsView,
    TimelineView,
    all_missions_touched,
    ladder_state,
    missions_of,
    referenced_streams,
    references,
    relation_steps,
    relations_view,
    response_times_view,
    statement_rows,
    statements_page,
    timeline_item,
)
from incidents.projections.desk_running import RunningRelations, RunningResponseTimes
from incidents.projections.held import Settler
from incidents.projections.in_time import Moment, PastViews, event_span
from incidents.projections.paged import by_position, by_stream_id, pages
from incidents.projections.slices import DemandFacts, Named, cut
from incidents.store.protocol import EventStore, RecordedEvent, StreamRow

PAGE = 1000


# What the desk reads of each state besides its own facts: the date of its fact.
_DATED = " occurred_precision occurred_zone occurred_after occurred_before"

NoteDesk = cut(
    "NoteDesk",
    NoteState,
    "status from_ to sent_at mission reply_due_at answered_at" + _DATED,
)
ProtestDesk = cut(
    "ProtestDesk",
    ProtestState,
    "by to form lodged_at demands" + _DATED,
    lean={"by": Named, "to": Named, "demands": list[DemandFacts]},
)
IncidentDesk = cut(
    "IncidentDesk",
    IncidentState,
    "mission location response_minutes" + _DATED,
    lean={"location": Named | None},
)
# (all but its sources)
StatementDesk = cut(
    "StatementDesk",
    StatementState,
    "kind issued_at by body stance summary title about related mission" + _DATED,
)
MissionDesk = cut(
    "MissionDesk",
    MissionState,
    "sending_state receiving_state reply_window_days head_of_mission" + _DATED,
)

_LEAN: dict[str, msgspec.json.Decoder[Any]] = {
    "note": msgspec.json.Decoder(NoteDesk),
    "protest": msgspec.json.Decoder(ProtestDesk),
    "incident": msgspec.json.Decoder(IncidentDesk),
    "statement": msgspec.json.Decoder(StatementDesk),
    "mission": msgspec.json.Decoder(MissionDesk),
}


def _span_stamps(event: RecordedEvent) -> tuple[float, float]:
    """The event's span (:func:`incidents.projections.in_time.event_span`) as POSIX
    timestamps, an open end as an infinity."""
    first, last = event_span(event)
    return (
        -math.inf if first is None else first.timestamp(),
        math.inf if last is None else last.timestamp(),
    )


async def states_at(past: PastViews, moment: Moment) -> dict[str, list[Any]]:
    """Every note, protest, incident, statement and mission state at ``moment``, in full
    (with their sources, :meth:`PastViews.category_in_full`): a stream whose row settles
    the moment is read from its row, the others folded. The views in time's index gives
    lean states, without the sources and the fields the desk's views read; this lists and
    decodes every stream of the five categories, so its cost grows with the log."""
    return {
        category: [folded.state for folded in await past.category_in_full(category, moment)]
        for category in _LEAN
    }


class DeskIndex:
    """The desk's views over the log, held and caught up; see the module's docstring."""

    def __init__(
        self, store: EventStore, reply_window_days: int, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._reply_window_days = reply_window_days
        self._clock = clock
        self._lock = asyncio.Lock()
        self._position: int | None = None
        self._revision: int | None = None
        self._touches: dict[str, tuple[str, ...]] = {}
        # a stream -> the streams whose places in timelines follow its missions
        self._referrers: dict[str, set[str]] = {}
        self._times: dict[str, array[float]] = {}
        self._positions: dict[str, array[int]] = {}
        # Beside each key, its event's span (times.span) as timestamps: the first possible
        # instant (-inf: open) and the last (inf: open), read by a timeline at a moment.
        self._firsts: dict[str, array[float]] = {}
        self._lasts: dict[str, array[float]] = {}
        self._states: dict[str, dict[str, Any]] = {category: {} for category in _LEAN}
        self._built: dict[str, tuple[int, Any]] = {}
        self._response_times = RunningResponseTimes(reply_window_days)
        self._relations = RunningRelations()
        self._settler = Settler()

    @asynccontextmanager
    async def current(self) -> AsyncIterator[DeskIndex]:
        """Catch up with the log, then give the index to read until the block ends."""
        async with self._lock:
            await self._catch_up()
            yield self

    @property
    def position(self) -> int:
        """The log position the index reflects."""
        if self._position is None:
            raise RuntimeError("use DeskIndex inside `async with index.current()`")
        return self._position

    # --- the views ----------------------------------------------------------------------

    async def timeline(
        self,
        mission: str,
        after: int | None = None,
        limit: int = 50,
        *,
        as_of: datetime | None = None,
        known_through: int | None = None,
        rule: DateRule = "possible",
    ) -> TimelineView | None:
        """A page of the mission's timeline, oldest first (None: no such mission); with
        ``as_of``, only the events whose span counts as occurred by then under ``rule``
        (:func:`incidents.domain.times.kept_as_of`), with ``known_through`` only those at or
        before that position (:meth:`known_through`)."""
        if mission not in self._states["mission"]:
            return None
        times = self._times.get(mission, array("d"))
        positions = self._positions.get(mission, array("q"))
        kept: Sequence[int] = range(len(positions))
        if as_of is not None:
            # A span's first or last instant, not its occurred time, says whether it is kept.
            ends = (self._firsts if rule == "possible" else self._lasts).get(mission, array("d"))
            moment = as_of.timestamp()
            kept = [i for i, end in enumerate(ends) if end <= moment]
        if known_through is not None:
            kept = [i for i in kept if positions[i] <= known_through]
        start = 0
        if after is not None:
            start = len(positions)
            event = await self._event_at(after)
            if event is not None:
                at = event.occurred_at.timestamp()
                start = bisect_left(times, at)
                while start < len(positions) and (
                    times[start] < at or (times[start] == at and positions[start] <= after)
                ):
                    start += 1
        first = bisect_left(kept, start)
        page = kept[first : first + limit]
        events = [await self._event_at(positions[i]) for i in page]
        items = [timeline_item(event) for event in events if event is not None]
        return TimelineView(
            mission=mission,
            count=len(kept),
            items=items,
            next_after=items[-1].position if items else after,
            has_more=first + limit < len(kept),
        )

    async def known_through(self, known_at: datetime) -> int:
        """The last position recorded at or before ``known_at`` (0: none). Positions are
        recorded in order, so this is a bisection of the log (a read of one event a step)."""
        low, high = 0, self.position
        while low < high:
            middle = (low + high + 1) // 2
            event = await self._event_at(middle)
            if event is not None and event.recorded_at <= known_at:
                low = middle
            else:
                high = middle - 1
        return low

    def statements(
        self, full: dict[str, list[Any]] | None = None, *, sources: bool = True, **query: Any
    ) -> StatementsView:
        """The statements view: a page of the held rows (sorted again when the log has
        moved), or of ``full`` states (every category's: an ``about`` naming one of them is
        what a statement responds to), with their sources unless told not to."""
        if full is not None:
            known = {s.stream_id: category for category, held in full.items() for s in held}
            rows = statement_rows(full["statement"], known, sources=sources)
            return statements_page(rows, **query)
        cached = self._built.get("statements")
        if cached is None or cached[0] != self.position:
            rows = statement_rows(self._states["statement"].values(), self._known())
            cached = self._built["statements"] = (self.position, rows)
        return statements_page(cached[1], **query)

    def response_times(
        self,
        full: dict[str, list[Any]] | None = None,
        *,
        now: datetime | None = None,
        sources: bool = True,
    ) -> ResponseTimesView:
        """The response-times view at the clock's time: the running totals, or folded
        from ``full`` states, at ``now`` if given (what was overdue then), with their sources
        unless told not to."""
        if full is None:
            return self._response_times.view(self._clock())
        return response_times_view(
            full["note"],
            full["incident"],
            full["protest"],
            full["mission"],
            self._clock() if now is None else now,
            self._reply_window_days,
            sources=sources,
        )

    def relations(
        self, full: dict[str, list[Any]] | None = None, *, sources: bool = True
    ) -> RelationsView:
        """The relations view: the running ladder, or folded from ``full`` states, with
        their sources unless told not to."""
        if full is None:
            return self._relations.view()
        receiving = {m.stream_id: m.receiving_state for m in full["mission"]}
        states_of: dict[str, str] = {}
        for category, held in full.items():
            for state in held:
                found = ladder_state(category, state, receiving)
                if found is not None:
                    states_of[state.stream_id] = found
        steps = relation_steps(
            full["note"],
            full["protest"],
            full["statement"],
            full["mission"],
            states_of,
            sources=sources,
        )
        return relations_view(steps, sources=sources)

    async def full_states(self) -> dict[str, list[Any]]:
        """Every note, protest, incident, statement and mission state, in full (with their
        sources), read afresh from the store."""
        full: dict[str, list[Any]] = {category: [] for category in _LEAN}
        async for rows in pages(self._store.list_streams_after, None, PAGE, by_stream_id):
            for row in rows:
                if row.category in full:
                    full[row.category].append(decode_state(row.category, row.state))
        return full

    def _known(self) -> dict[str, str]:
        """Every stream held, with its category."""
        return {sid: category for category, held in self._states.items() for sid in held}

    # --- keeping up ---------------------------------------------------------------------

    async def _event_at(self, position: int) -> RecordedEvent | None:
        found = await self._store.read_all(position - 1, 1)
        return found[0] if found and found[0].position == position else None

    async def _catch_up(self) -> None:
        revision = await self._store.snapshots_revision()
        if revision != self._revision or self._position is None:
            self._revision = revision
            await self._load()
            return
        changed = await self._follow(self._position)
        await self._place(changed)

    async def _load(self) -> None:
        self._touches.clear()
        self._referrers.clear()
        self._times.clear()
        self._positions.clear()
        self._firsts.clear()
        self._lasts.clear()
        self._built.clear()
        self._response_times = RunningResponseTimes(self._reply_window_days)
        self._relations = RunningRelations()
        for held in self._states.values():
            held.clear()
        openings = {}
        async for rows in pages(self._store.list_streams_after, None, PAGE, by_stream_id):
            for row in rows:
                self._hold(row)
                opening = openings[row.stream_id] = references(row.state)
                self._refer(row.stream_id, opening)
            self._settler.kept(len(rows))
        self._touches = all_missions_touched(openings)
        self._position = 0
        await self._follow(0)
        self._settler.loaded(len(self._touches) + self._position)

    async def _follow(self, after: int) -> set[str]:
        """Index the events after ``after``; the streams they touched."""
        changed: set[str] = set()
        async for events in pages(self._store.read_all, after, PAGE, by_position):
            for event in events:
                self._index(event)
                changed.add(event.stream_id)
            after = events[-1].position
            self._settler.kept(len(events))
        self._position = after
        return changed

    def _index(self, event: RecordedEvent) -> None:
        stream_id = event.stream_id
        touched = self._touches.get(stream_id)
        if touched is None:
            opening = references(event.data)
            self._refer(stream_id, opening)
            touched = self._touches[stream_id] = missions_of(stream_id, opening, self._touches)
        at = event.occurred_at.timestamp()
        bounds = _span_stamps(event)
        for mission in touched:
            self._insert(mission, at, event.position, bounds)

    def _insert(self, mission: str, at: float, position: int, bounds: tuple[float, float]) -> None:
        times = self._times.setdefault(mission, array("d"))
        positions = self._positions.setdefault(mission, array("q"))
        # after every key that comes before it: an earlier time, or the same and a lower
        # position
        index = bisect_right(times, at)
        while index > 0 and times[index - 1] == at and positions[index - 1] > position:
            index -= 1
        times.insert(index, at)
        positions.insert(index, position)
        self._firsts.setdefault(mission, array("d")).insert(index, bounds[0])
        self._lasts.setdefault(mission, array("d")).insert(index, bounds[1])

    def _drop(self, mission: str, at: float, position: int) -> None:
        times, positions = self._times[mission], self._positions[mission]
        index = bisect_left(times, at)
        while positions[index] != position:
            index += 1
        del times[index]
        del positions[index]
        del self._firsts[mission][index]
        del self._lasts[mission][index]

    def _refer(self, stream_id: str, opening: Any) -> None:
        for reference in referenced_streams(opening):
            self._referrers.setdefault(reference, set()).add(stream_id)

    async def _retouch(self, rows: dict[str, StreamRow]) -> None:
        """Move the events of the streams whose missions changed (a correction of the
        mission a stream names, or of a stream it refers to) to their new timelines."""
        while rows:
            moved = []
            for stream_id, row in rows.items():
                opening = references(row.state)
                self._refer(stream_id, opening)
                old = self._touches.get(stream_id, ())
                new = missions_of(stream_id, opening, self._touches)
                if set(new) != set(old):
                    self._touches[stream_id] = new
                    await self._move(stream_id, set(old) - set(new), set(new) - set(old))
                    moved.append(stream_id)
            referrers = {r for stream_id in moved for r in self._referrers.get(stream_id, ())}
            rows = await self._store.get_streams(sorted(referrers)) if referrers else {}

    async def _move(self, stream_id: str, left: set[str], joined: set[str]) -> None:
        version: int | None = None
        while True:
            events = await self._store.read_stream(stream_id, version, "forward", PAGE)
            for event in events:
                if event.position > self.position:
                    return
                at = event.occurred_at.timestamp()
                bounds = _span_stamps(event)
                for mission in left:
                    self._drop(mission, at, event.position)
                for mission in joined:
                    self._insert(mission, at, event.position, bounds)
            if len(events) < PAGE:
                return
            version = events[-1].version + 1

    async def _place(self, changed: set[str]) -> None:
        if not changed:
            return
        rows = await self._store.get_streams(sorted(changed))
        for row in rows.values():
            self._hold(row)
        self._settler.kept(len(rows))
        if rows:
            self._built.clear()
        await self._retouch(rows)

    def _hold(self, row: StreamRow) -> None:
        decoder = _LEAN.get(row.category)
        if decoder is not None:
            state = decoder.decode(row.state)
            self._states[row.category][row.stream_id] = state
            self._response_times.put(row.category, state)
            self._relations.put(row.category, state)
