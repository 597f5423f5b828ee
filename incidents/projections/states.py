"""The stream states the views read most, held in memory and brought up to the log on each read.

Reading a mission's open notes or protests from the store costs a row lookup per stream
(about 0.6 ms for one mission's 70 open notes at 1,000,000 events: most of a request), and
every view reads the missions' own rows. :class:`CurrentStates` holds slices
(:mod:`incidents.projections.slices`) of

- every mission stream,
- the open notes and the open protests of the missions asked about lately (the least
  recently asked are let go beyond ``max_streams`` streams),
- the store's per-mission tallies,
- where every open protest and every incident comes in its view, and what the view filters
  and counts it by, once the view is asked for (:mod:`incidents.projections.ordered`; an
  incident's host state is its mission's receiving state unless its location names one),

and a checkpoint: the position in the log they reflect. Every read first catches up: it
reads the events after the checkpoint (``read_all``: one indexed query that finds nothing
when nothing was appended) and reads again the row of each mission, note and protest they
touch (``get_stream``, a point lookup), placing it in, or taking it out of, what is held.
So a read reflects every append acknowledged before it began, made by this process or by
any other sharing the log, and appends cost a read only the streams they touched. A read
``reset_after`` events or more behind (a bulk import) lets the missions, notes and tallies
go, and loads what it needs afresh; it lets the places of protests and incidents go too only
when it is at least as many events behind as they hold: reloading them reads every one of
their rows (about 22 microseconds each at 1,000,000 events), catching up 17 to 30 an event
(measured on the bench's log: 5,000 events in 0.15 s, 50,000 in 0.86 s).

A change to stream states that is not an append (``incidents replay --repair`` rewriting
snapshots) leaves no event to catch up with; it moves the store's ``snapshots_revision``
instead (read with the catch-up, a point lookup), and then everything held is let go.

Use it only inside ``async with states.current():``, which holds a lock for the catch-up
and the loads, so that a load and a catch-up never interleave (a stream could otherwise be
placed from a row older than the checkpoint already past its change).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from incidents.domain.state import MissionState
from incidents.projections.held import Settler
from incidents.projections.incidents_by_mission import (
    HeldIncidents,
    held_incidents,
    incident_entry,
)
from incidents.projections.missions import MissionTally, read_tallies
from incidents.projections.open_protests import HeldProtests, held_protests, protest_entry
from incidents.projections.paged import by_position, by_stream_id, pages
from incidents.projections.slices import (
    SLICES,
    STATE_OF_CATEGORY,
    IncidentPlace,
    ProtestPlace,
    decode_rows,
)
from incidents.store.protocol import EventStore, StreamRow, category_of

# Open streams of one category that name one mission (None: that name none).
Bucket = tuple[str, str | None]

# The categories whose open streams are held, by mission.
HELD_CATEGORIES = frozenset({"note"})
# Rows a paged load takes at a time (small pages keep the server's memory low once it has
# loaded the places of every protest and incident; docs/benchmarks.md), events a catch-up
# reads at a time.
PAGE_SIZE = 250
CATCH_UP_PAGE = 500


def _decode(row: StreamRow) -> Any:
    return SLICES[STATE_OF_CATEGORY[row.category]].decode(row.state)


class CurrentStates:
    """Slices of the missions and of the open notes and protests of some missions, with the
    log position they reflect; see the module's docstring."""

    def __init__(
        self, store: EventStore, *, max_streams: int = 20_000, reset_after: int = 5_000
    ) -> None:
        self._store = store
        self._max_streams = max_streams
        self._reset_after = reset_after
        self._lock = asyncio.Lock()
        self._position: int | None = None
        self._revision: int | None = None
        self._missions: dict[str, tuple[StreamRow, MissionState]] | None = None
        # Least recently asked first.
        self._open: OrderedDict[Bucket, dict[str, Any]] = OrderedDict()
        self._bucket_of: dict[str, Bucket] = {}
        self._tallies: tuple[int, list[MissionTally]] | None = None
        self._asked: set[Bucket] = set()
        self._protests: HeldProtests | None = None
        # The incidents, with the receiving state of each mission they were placed with.
        self._incidents: HeldIncidents | None = None
        self._receiving: dict[str, str] = {}
        self._settler = Settler()

    @property
    def position(self) -> int:
        """The log position everything held reflects (at least): the last event caught up."""
        if self._position is None:
            raise RuntimeError("use CurrentStates inside `async with states.current()`")
        return self._position

    @property
    def held_streams(self) -> int:
        """How many open notes and protests are held."""
        return len(self._bucket_of)

    @property
    def held_places(self) -> int:
        """How many places of open protests and incidents are held."""
        protests = 0 if self._protests is None else len(self._protests)
        return protests + (0 if self._incidents is None else len(self._incidents))

    @property
    def held_groups(self) -> int:
        """How many missions' open notes or protests are held (each kind counts once)."""
        return len(self._open)

    @asynccontextmanager
    async def current(self) -> AsyncIterator[CurrentStates]:
        """Catch up with the log, then give these states to read (and load into) until the
        block ends; other readers wait meanwhile."""
        async with self._lock:
            await self._catch_up()
            self._asked = set()
            try:
                yield self
            finally:
                self._let_go()

    async def missions(self) -> dict[str, tuple[StreamRow, MissionState]]:
        """Every mission stream's row and slice (standing in for its state), by stream id."""
        if self._missions is None:
            missions: dict[str, tuple[StreamRow, MissionState]] = {}
            async for page in self._pages("mission"):
                for row, facts in zip(page, decode_rows(page, MissionState), strict=True):
                    missions[row.stream_id] = (row, facts)
                self._settler.kept(len(page))
            self._missions = missions
        return self._missions

    async def open_streams(self, category: str, mission: str | None) -> list[Any]:
        """The slices of the open streams of ``category`` (``note`` or ``protest``) that name
        ``mission`` (None: that name no mission), in no particular order."""
        if category not in HELD_CATEGORIES:
            raise ValueError(f"open {category} streams are not held")
        key = (category, mission)
        self._asked.add(key)
        bucket = self._open.get(key)
        if bucket is not None:
            self._open.move_to_end(key)
            return list(bucket.values())
        loaded: dict[str, Any] = {}
        async for page in self._pages(category, mission, True, without_mission=mission is None):
            for row in page:
                loaded[row.stream_id] = _decode(row)
            self._settler.kept(len(page))
        self._open[key] = loaded
        for stream_id in loaded:
            self._take_out(stream_id)
            self._bucket_of[stream_id] = key
        return list(loaded.values())

    async def open_protests(self) -> HeldProtests:
        """Where every open protest comes in its view (loaded at the first call)."""
        if self._protests is None:
            held = held_protests()
            loaded = []
            async for page in self._pages("protest", is_open=True):
                for protest in decode_rows(page, ProtestPlace):
                    if protest.status == "open":
                        loaded.append(protest_entry(protest))
                self._settler.kept(len(page))
            held.load(loaded)
            self._protests = held
            self._settler.loaded(len(loaded))
        return self._protests

    async def incidents(self) -> HeldIncidents:
        """Where every incident comes in its view (loaded at the first call)."""
        if self._incidents is None:
            missions = await self.missions()
            receiving = {name: facts.receiving_state for name, (_, facts) in missions.items()}
            held = held_incidents()
            loaded = []
            async for page in self._pages("incident"):
                for incident in decode_rows(page, IncidentPlace):
                    loaded.append(incident_entry(incident, receiving))
                self._settler.kept(len(page))
            held.load(loaded)
            self._incidents, self._receiving = held, receiving
            self._settler.loaded(len(loaded))
        return self._incidents

    @property
    def receiving_states(self) -> dict[str, str]:
        """Each mission's receiving state, by stream id, as the incidents held were placed
        with (kept current by the catch-up while they are held; read after incidents())."""
        return self._receiving

    async def _pages(
        self,
        category: str,
        mission: str | None = None,
        is_open: bool | None = None,
        *,
        without_mission: bool = False,
    ) -> AsyncIterator[Sequence[StreamRow]]:
        """What ``list_streams`` lists, ``PAGE_SIZE`` rows at a time."""

        def read(after: str | None, limit: int) -> Awaitable[list[StreamRow]]:
            return self._store.list_streams(
                category, mission, is_open, after, limit, without_mission=without_mission
            )

        async for page in pages(read, None, PAGE_SIZE, by_stream_id):
            yield page

    async def tallies(self) -> list[MissionTally]:
        """The store's per-mission tallies, read again only when the log has moved."""
        if self._tallies is None or self._tallies[0] != self.position:
            # Read after the catch-up: they reflect at least the checkpoint, and an append
            # after it moves the checkpoint at the next read, which reads them again.
            self._tallies = (self.position, await read_tallies(self._store))
        return self._tallies[1]

    async def _catch_up(self) -> None:
        # Read before the head: a repair committed after this read is seen by the next one.
        revision = await self._store.snapshots_revision()
        if revision != self._revision:
            self._revision = revision
            self._position = None
        if self._position is None:
            self._forget((await self._store.head()).position)
            return
        after = self._position
        changed: dict[str, None] = {}
        async for events in pages(self._store.read_all, after, CATCH_UP_PAGE, by_position):
            for event in events:
                changed[event.stream_id] = None
            after = events[-1].position
            if len(events) < CATCH_UP_PAGE:
                continue  # the last page
            behind = (await self._store.head()).position - after
            if behind >= self._reset_after:
                if behind >= self.held_places:
                    self._forget(after + behind)
                    return
                self._forget_all_but_places()
        placed = 0
        for stream_id in changed:
            if self._holds(category_of(stream_id)):
                row = await self._store.get_stream(stream_id)
                if row is not None:
                    self._place(row)
                    placed += 1
        self._settler.kept(placed)
        self._position = after

    def _holds(self, category: str) -> bool:
        """Whether anything held may change with a stream of ``category``."""
        if category == "mission":
            return self._missions is not None or self._incidents is not None
        if category == "protest":
            return self._protests is not None
        if category == "incident":
            return self._incidents is not None
        return category in HELD_CATEGORIES and bool(self._open)

    def _place(self, row: StreamRow) -> None:
        """Hold the row's slice where it now belongs, if that is held; let go of the old."""
        if row.category == "mission":
            facts = _decode(row)
            if self._missions is not None:
                self._missions[row.stream_id] = (row, facts)
            self._place_mission(row.stream_id, facts)
            return
        if row.category == "protest":
            if self._protests is not None:
                protest = SLICES[ProtestPlace].decode(row.state)
                opened = protest_entry(protest) if protest.status == "open" else None
                self._protests.put(row.stream_id, opened)
            return
        if row.category == "incident":
            if self._incidents is not None:
                incident = SLICES[IncidentPlace].decode(row.state)
                placed = incident_entry(incident, self._receiving)
                self._incidents.put(row.stream_id, placed)
            return
        self._take_out(row.stream_id)
        key = (row.category, row.mission)
        bucket = self._open.get(key)
        if row.is_open and bucket is not None:
            bucket[row.stream_id] = _decode(row)
            self._bucket_of[row.stream_id] = key

    def _place_mission(self, stream_id: str, facts: MissionState) -> None:
        """Keep the incidents' host states true to the missions' receiving states."""
        if self._incidents is None:
            return
        before = self._receiving.get(stream_id)
        if before == facts.receiving_state:
            return
        if before is not None or ("mission", stream_id) in self._incidents:
            # Incidents placed with another host state: load them all again when asked.
            self._incidents = None
        else:
            self._receiving[stream_id] = facts.receiving_state

    def _take_out(self, stream_id: str) -> None:
        old = self._bucket_of.pop(stream_id, None)
        if old is not None:
            self._open[old].pop(stream_id, None)

    def _let_go(self) -> None:
        """Let go of the least recently asked missions' streams beyond ``max_streams``
        (a mission held with none counts as one: asking for any name holds it)."""
        while len(self._bucket_of) + len(self._open) > self._max_streams and self._open:
            key = next(iter(self._open))
            if key in self._asked:
                break
            for stream_id in self._open.pop(key):
                self._bucket_of.pop(stream_id, None)

    def _forget_all_but_places(self) -> None:
        self._missions = None
        self._open.clear()
        self._bucket_of.clear()
        self._tallies = None

    def _forget(self, head: int) -> None:
        self._forget_all_but_places()
        self._protests = None
        self._incidents = None
        self._position = head
