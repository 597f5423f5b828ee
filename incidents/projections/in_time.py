"""The read models at a past moment: ``as_of`` (what had occurred by then) and ``known_at``
(what the log had recorded by then), alone or together.

Each stream concerned is folded again from its events with
:func:`incidents.domain.rules.fold_in_time` (events recorded by ``known_at``, corrections
applied, those that occurred by ``as_of`` by the moment's ``dates`` rule over their spans
folded in append order), and the folded states go
through the same pure view functions as the current views, with the clock set to ``as_of``
when it is given: days waiting and overdue flags are those of that day.

Which streams are folded: with the ``in_time`` inline projection
(:mod:`incidents.projections.in_time_index`) and the rule ``possible``, only those bent
(corrected, recorded out of their occurred order, or holding a date of unknown precision) by
``known_at``; every other stream is one version's row of the
index (:class:`Seen`). A view counts, orders and filters the rows (open protests in SQL),
and gets the states of the streams it shows only: from the stream's current row when it is
still at that version, else folded from its events up to the version; a mission's state is
in its row. A store without the projection, or an ``as_of`` by ``certain``: a stream whose
current row settles it (everything recorded by ``known_at`` and, by ``possible``, occurred
by ``as_of``: its current state; or everything known and its opening not kept: not in the
view, :func:`settled_at`) is not read; the others
are read and folded, one by one for a mission's views or when they are few, else in one
sweep of their category in stream order (``read_by_stream``); one mission's unanswered
notes look at the notes that name it now and the notes whose ``mission`` a correction
changed. No state is written; nothing is held between reads but the set of those corrected
notes, caught up with the log.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

import msgspec

from incidents.domain.events import CORRECTION_TYPES
from incidents.domain.rules import fold_in_time, opening_time
from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    State,
    bound,
    decode_state,
    encode_state,
    is_open,
    mission_of,
)
from incidents.domain.times import DateRule, Precision, Span, kept_as_of, span
from incidents.projections.in_time_index import (
    EARLIEST,
    UNBOUNDED,
    Summary,
    handed_via,
    incident_place,
    note_facts,
    note_sender,
    protest_place,
    protests_read_name,
    read_name,
    read_order,
    read_stored_time,
    stored_time,
    summarise,
)
from incidents.projections.in_time_index import NAME as INDEX
from incidents.projections.incidents_by_mission import (
    ANY_INCIDENT,
    IncidentFilter,
    IncidentsView,
    held_incidents,
    incident_entry,
    incident_row,
    incidents_page,
    select_incidents,
)
from incidents.projections.missions import (
    MissionsView,
    MissionTally,
    labels_for,
    missions_from_tallies,
    with_protests_handed_to,
)
from incidents.projections.open_protests import (
    ANY_PROTEST,
    OpenProtestsView,
    ProtestFilter,
    ProtestKey,
    ProtestTotals,
    held_protests,
    open_demands_of,
    open_protests_page,
    protest_entry,
    protest_order,
    select_open_protests,
)
from incidents.projections.ordered import Page
from incidents.projections.unanswered_notes import UnansweredNotesView, unanswered_notes
from incidents.store.protocol import (
    EventStore,
    RecordedEvent,
    StreamRow,
    category_of,
)

# Events one read takes.
PAGE = 1000
# Up to this many streams a view cannot settle from their rows are read one by one; more,
# and their category is swept in one go.
FOLD_ONE_BY_ONE = 64
# What a page with no limit asks SQL for: more than any log holds.
PAGE_ALL = 2**62

T = TypeVar("T")


class _Dating(msgspec.Struct):
    """How an event's data dates it (the rest of its data is not decoded)."""

    occurred_precision: Precision | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


_decode_dating = msgspec.json.Decoder(_Dating).decode
_CORRECTIONS = frozenset(CORRECTION_TYPES.values())


def event_span(event: RecordedEvent) -> Span:
    """The instants the event, as logged, may have occurred at: its occurred time narrowed
    or widened by its data's precision and bounds (:func:`incidents.domain.times.span`)."""
    dating = _decode_dating(event.data)
    return span(
        event.occurred_at,
        dating.occurred_precision,
        dating.occurred_after,
        dating.occurred_before,
    )


class Moment(msgspec.Struct, frozen=True):
    """A point in both times: events that occurred by ``as_of`` and were recorded by
    ``known_at`` (None: no bound on that side). ``rule`` says when an event the text dates
    loosely occurred by ``as_of`` (:func:`incidents.domain.times.kept_as_of`)."""

    as_of: datetime | None = None
    known_at: datetime | None = None
    rule: DateRule = "possible"

    @property
    def is_now(self) -> bool:
        """Whether neither bound is given (the current views answer)."""
        return self.as_of is None and self.known_at is None

    def keeps(self, event: RecordedEvent) -> bool:
        """Whether the event, as logged, occurred and was recorded within the bounds."""
        if self.known_at is not None and event.recorded_at > self.known_at:
            return False
        if self.as_of is None:
            return True
        if event.type in _CORRECTIONS:
            return event.occurred_at <= self.as_of
        return kept_as_of(event_span(event), self.as_of, self.rule)


class StreamInTime(msgspec.Struct, frozen=True):
    """A stream folded at a moment, with its last event kept by the moment's bounds."""

    stream_id: str
    state: State
    version: int
    last_position: int
    updated_at: datetime


class PastCursorError(ValueError):
    """A page's ``after`` names no stream of the view at that moment."""


def stream_in_time(
    stream_id: str, events: list[RecordedEvent], moment: Moment
) -> StreamInTime | None:
    """Fold one stream's events (all of them, in order) at ``moment``; None when nothing
    is kept."""
    state = fold_in_time(stream_id, events, moment.as_of, moment.known_at, moment.rule)
    if state is None:
        return None
    kept = [event for event in events if moment.keeps(event)] or events[:1]
    last = kept[-1]
    return StreamInTime(stream_id, state, last.version, last.position, last.recorded_at)


async def read_whole_stream(store: EventStore, stream_id: str) -> list[RecordedEvent]:
    """Every event of one stream, oldest first."""
    events: list[RecordedEvent] = []
    while True:
        page = await store.read_stream(stream_id, len(events) + 1, "forward", PAGE)
        events.extend(page)
        if len(page) < PAGE:
            return events


async def category_in_time(
    store: EventStore, category: str, moment: Moment, wanted: set[str] | None = None
) -> AsyncIterator[StreamInTime]:
    """Every stream of a category (of ``wanted``, if given) folded at ``moment``, in stream
    id order (one sweep of the category's events)."""
    prefix = f"{category}-"
    after: tuple[str, int] = (prefix, 0)
    current: str | None = None
    events: list[RecordedEvent] = []
    while True:
        page = await store.read_by_stream(after, PAGE)
        for event in page:
            if not event.stream_id.startswith(prefix):
                page = []
                break
            if event.stream_id != current:
                if current is not None and (folded := stream_in_time(current, events, moment)):
                    yield folded
                current, events = event.stream_id, []
            if wanted is None or event.stream_id in wanted:
                events.append(event)
        else:
            if len(page) == PAGE:
                after = (page[-1].stream_id, page[-1].version)
                continue
        break
    if current is not None and (folded := stream_in_time(current, events, moment)):
        yield folded


def settled_at(row: StreamRow, state: State, moment: Moment) -> StreamInTime | bool | None:
    """The stream at ``moment`` when its current row tells it without reading its events:
    the current state when every event was recorded by ``known_at`` and, by the rule
    ``possible``, occurred by ``as_of`` (its latest occurred time says so: every span
    begins at or before its occurred time), None when its opening does not count as
    occurred by ``as_of`` (nothing of it is kept) and everything was known by ``known_at``;
    else False (it must be folded from its events). By ``certain`` a later end of some span
    may leave an event out, so only the opening settles it."""
    if moment.known_at is not None and row.updated_at > moment.known_at:
        return False
    if moment.as_of is None or (moment.rule == "possible" and state.last_event_at <= moment.as_of):
        return StreamInTime(row.stream_id, state, row.version, row.last_position, row.updated_at)
    opening = span(
        opening_time(state),
        state.occurred_precision,
        bound(state.occurred_after),
        bound(state.occurred_before),
    )
    if not kept_as_of(opening, moment.as_of, moment.rule):
        return None
    return False


class Seen(NamedTuple):
    """A stream at a moment as a view first needs it: its last version kept, that version's
    ``mission``, ``is_open`` and summary (:func:`summarise`), and its state when it was
    folded to be found (else it is got only for the streams a view shows)."""

    stream_id: str
    version: int
    position: int
    recorded_at: datetime
    mission: str | None
    is_open: bool
    summary: Summary
    state: State | None = None


def seen_of(folded: StreamInTime) -> Seen:
    """What a folded stream is to the views."""
    state = folded.state
    return Seen(
        folded.stream_id,
        folded.version,
        folded.last_position,
        folded.updated_at,
        mission_of(state),
        is_open(state),
        summarise(category_of(folded.stream_id), encode_state(state)),
        state,
    )


class PastViews:
    """The contract's read models at a moment; one per server process."""

    def __init__(
        self,
        store: EventStore,
        reply_window_days: int,
        clock: Callable[[], datetime],
        *,
        fold_one_by_one: int = FOLD_ONE_BY_ONE,
        indexed: bool | None = None,
    ) -> None:
        self.store = store
        # Whether the store runs the in_time projection (incidents.projections.in_time_index);
        # None: found out at the first read (a store without it refuses its reads).
        self.indexed = indexed
        self.fold_one_by_one = fold_one_by_one
        self.reply_window_days = reply_window_days
        self.clock = clock
        self._lock = asyncio.Lock()
        self._corrected: set[str] = set()
        self._corrected_at = 0

    def _now(self, moment: Moment) -> datetime:
        return moment.as_of if moment.as_of is not None else self.clock()

    async def stream(self, stream_id: str, moment: Moment) -> StreamInTime | None:
        """One stream at ``moment``; None when nothing of it is kept."""
        return stream_in_time(stream_id, await read_whole_stream(self.store, stream_id), moment)

    async def missions_at(self, moment: Moment) -> dict[str, StreamInTime]:
        """Every mission stream at ``moment``, by id."""
        return {m.stream_id: m for m in await self.category_at("mission", moment)}

    async def category_at(
        self,
        category: str,
        moment: Moment,
        mission: str | None = None,
        *,
        only_open: bool = False,
    ) -> list[StreamInTime]:
        """The streams of a category (that name ``mission``, if given) at ``moment``, in
        stream id order, with their states; with ``only_open``, those open then may be all
        that is given."""
        return await self._states(await self._seen(category, moment, mission, only_open))

    async def _seen(
        self, category: str, moment: Moment, mission: str | None = None, only_open: bool = False
    ) -> list[Seen]:
        """The streams of a category (that name ``mission``, if given) at ``moment``, in
        stream id order; with ``only_open``, those open then may be all that is given.

        Indexed: the version rows the moment selects, and the streams bent by then folded
        (:meth:`_indexed`). Else :meth:`_folded`."""
        if await self._uses_index(moment):
            return await self._indexed(category, moment, mission, only_open)
        return [seen_of(f) for f in await self._folded(category, moment, mission)]

    async def _folded(
        self, category: str, moment: Moment, mission: str | None
    ) -> list[StreamInTime]:
        """Without the index: a stream whose row settles it is not read (:func:`settled_at`);
        the others are folded from their events, read stream by stream when they are few or
        one mission's, in one sweep of the category when they are many (a mission's: those
        that name it now)."""
        rows: list[StreamRow] = []
        after: str | None = None
        while True:
            page = await self.store.list_streams(category, mission, after=after, limit=PAGE)
            rows.extend(page)
            if len(page) < PAGE:
                break
            after = page[-1].stream_id
        # A mission's streams are a small part of their category: never sweep it for them.
        return await self._at(rows, moment, category, sweep=mission is None)

    async def category_in_full(self, category: str, moment: Moment) -> list[StreamInTime]:
        """Every stream of a category at ``moment``, in stream id order, with its full state
        (sources included, which the index's summaries lack): a stream whose row settles
        the moment is its row's state (:func:`settled_at`), the others are folded."""
        return await self._folded(category, moment, None)

    async def _uses_index(self, moment: Moment) -> bool:
        """Whether the index answers ``moment``: its rows keep events by the rule
        ``possible`` (streams with an event whose span begins before its occurred time are
        bent, so folded); by ``certain`` an ``as_of`` is answered by folding."""
        if moment.as_of is not None and moment.rule != "possible":
            return False
        if self.indexed is None:
            try:
                await self._query(
                    read_name("bent", False),
                    {"C": "", "K": stored_time(self.store.engine, UNBOUNDED)},
                )
            except ValueError:
                self.indexed = False
            else:
                self.indexed = True
        return self.indexed

    def _values(self, moment: Moment, category: str, mission: str | None) -> dict[str, object]:
        engine = self.store.engine
        return {
            "T": stored_time(engine, moment.as_of or UNBOUNDED),
            "K": stored_time(engine, moment.known_at or UNBOUNDED),
            "C": category,
            "M": mission,
        }

    async def _known(self, moment: Moment) -> str:
        """Which range of the index holds the last versions recorded by ``known_at``: those
        recorded by then when that is in the older half of the log, else those whose next
        was recorded after it."""
        early = moment.known_at is not None and await self._early(moment.known_at)
        return "known_early" if early else "known_late"

    async def _indexed(
        self, category: str, moment: Moment, mission: str | None, only_open: bool
    ) -> list[Seen]:
        engine = self.store.engine
        values = self._values(moment, category, mission)
        if mission is not None:
            reads, bent = ["of_mission"], "bent_of_mission"
        else:
            reads, bent = [await self._known(moment)], "bent"
            if moment.as_of is not None:
                reads.append("crossed")
        found: dict[str, Seen] = {}
        for read in reads:
            for row in await self._query(read_name(read, only_open), values):
                stream_id, version, position, recorded, named, open_, rank, amount, place = row
                found[stream_id] = Seen(
                    stream_id,
                    version,
                    position,
                    read_stored_time(engine, recorded),
                    named,
                    bool(open_),
                    Summary(
                        None if rank is None else read_stored_time(engine, rank),
                        amount,
                        None if place is None else bytes(place),
                    ),
                )
        for folded in await self._bent(bent, values, moment):
            found[folded.stream_id] = seen_of(folded)
        return [found[stream_id] for stream_id in sorted(found)]

    async def _bent(
        self, read: str, values: dict[str, object], moment: Moment
    ) -> list[StreamInTime]:
        """The streams bent by the moment's ``known_at`` that ``read`` names, folded."""
        rows = await self._query(read_name(read, False), values)
        folded = await asyncio.gather(*(self.stream(row[0], moment) for row in rows))
        return [f for f in folded if f is not None]

    async def _query(self, read: str, values: dict[str, object]) -> list[tuple[Any, ...]]:
        return await self.store.query(INDEX, read, [values[name] for name in read_order(read)])

    async def _states(self, seen: Iterable[Seen]) -> list[StreamInTime]:
        """The streams with their states, in the order given: a mission's from its row, a
        stream still at that version from its current row, the others folded from their
        events up to that version."""
        chosen = list(seen)
        wanted = [s.stream_id for s in chosen if s.state is None]
        current = await self.store.get_streams(wanted) if wanted else {}

        async def state_of(s: Seen) -> State | None:
            if s.state is not None:
                return s.state
            category = category_of(s.stream_id)
            if category == "mission" and s.summary.place is not None:
                return decode_state(category, s.summary.place)
            if category == "note" and s.summary.place is not None:
                return note_facts(s.stream_id, s.mission, s.summary.place)
            row = current.get(s.stream_id)
            if row is not None and row.version == s.version:
                return decode_state(category, row.state)
            return await self._fold_to(s.stream_id, s.version)

        states = await asyncio.gather(*(state_of(s) for s in chosen))
        return [
            StreamInTime(s.stream_id, state, s.version, s.position, s.recorded_at)
            for s, state in zip(chosen, states, strict=True)
            if state is not None
        ]

    async def _fold_to(self, stream_id: str, version: int) -> State | None:
        """A stream's state after ``version``: its events up to it, folded."""
        events: list[RecordedEvent] = []
        while len(events) < version:
            page = await self.store.read_stream(
                stream_id, len(events) + 1, "forward", min(PAGE, version - len(events))
            )
            events.extend(page)
            if not page:
                break
        return fold_in_time(stream_id, events)

    async def _early(self, known_at: datetime) -> bool:
        """Whether fewer events were recorded by ``known_at`` than after it (then the
        versions recorded by then are the smaller range to read)."""
        head = await self.store.head()
        middle = await self.store.read_all(head.position // 2, 1)
        return bool(middle) and known_at < middle[0].recorded_at

    async def _at(
        self,
        rows: Iterable[StreamRow],
        moment: Moment,
        category: str,
        *,
        sweep: bool = True,
    ) -> list[StreamInTime]:
        found: dict[str, StreamInTime] = {}
        unsettled: list[str] = []
        for row in rows:
            settled = settled_at(row, decode_state(row.category, row.state), moment)
            if settled is False:
                unsettled.append(row.stream_id)
            elif isinstance(settled, StreamInTime):
                found[row.stream_id] = settled
        if not sweep or len(unsettled) <= self.fold_one_by_one:
            for stream_id in unsettled:
                if (folded := await self.stream(stream_id, moment)) is not None:
                    found[stream_id] = folded
        else:
            wanted = set(unsettled)
            async for folded in category_in_time(self.store, category, moment, wanted):
                if folded.stream_id in wanted:
                    found[folded.stream_id] = folded
        return [found[stream_id] for stream_id in sorted(found)]

    async def unanswered_notes(
        self,
        moment: Moment,
        mission: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> UnansweredNotesView:
        """As :meth:`Projections.unanswered_notes`, at ``moment``: the notes of the page's
        missions are the only ones whose states are got."""
        if mission is not None:
            notes = await self._notes_of(mission, moment)
            missions = {m.stream_id: m for m in await self._streams_at([mission], moment)}
            names = [mission]
            start, end, has_more = 0, 1, False
        else:
            open_notes = [s for s in await self._seen("note", moment, only_open=True) if s.is_open]
            missions = await self.missions_at(moment)
            names = sorted({s.mission for s in open_notes if s.mission})
            start = 0 if after is None else bisect_right(names, after)
            end = len(names) if limit is None else min(len(names), start + limit)
            chosen = set(names[start:end])
            has_more = end < len(names)
            page = [s for s in open_notes if s.mission in chosen]
            if not has_more:
                nameless = [s for s in open_notes if s.mission is None]
                if limit is None or end - start < limit:
                    page.extend(nameless)
                else:
                    has_more = bool(nameless)
            notes = [f.state for f in await self._states(page)]
        view = unanswered_notes(
            cast(list[NoteState], notes),
            _states(missions.values(), MissionState),
            self._now(moment),
            self.reply_window_days,
        )
        return msgspec.structs.replace(
            view,
            next_after=names[end - 1] if end > start else after,
            has_more=has_more,
            as_of=moment.as_of,
            known_at=moment.known_at,
        )

    async def open_protests(
        self,
        moment: Moment,
        where: ProtestFilter = ANY_PROTEST,
        after: str | None = None,
        limit: int | None = None,
    ) -> OpenProtestsView:
        """As :meth:`Projections.open_protests`, at ``moment``: the count, open demands and
        order of the protests that match from their rows (in SQL when the index is read
        and no party is asked for), the states of the page's protests only."""
        key: ProtestKey | None = None
        if after is not None:
            named = await self.stream(after, moment)
            if named is None or not isinstance(named.state, ProtestState):
                raise PastCursorError(f"after={after!r} is not a protest of the log then")
            key = protest_order(named.state)
        if where == ANY_PROTEST and await self._uses_index(moment):
            page, chosen = await self._protests_in_sql(moment, key, limit)
        else:
            held = held_protests()
            places: dict[str, Seen] = {}
            entries = []
            for s in await self._seen("protest", moment, only_open=True):
                if s.is_open and s.summary.rank is not None and s.summary.place is not None:
                    places[s.stream_id] = s
                    place = protest_place(
                        s.stream_id,
                        s.mission,
                        s.summary.rank,
                        s.summary.amount or 0,
                        s.summary.place,
                    )
                    entries.append(protest_entry(place))
            held.load(entries)
            page = select_open_protests(held, where, key, limit)
            chosen = [places[stream_id] for stream_id in page.stream_ids]
        protests = _states_of([f.state for f in await self._states(chosen)], ProtestState)
        view = open_protests_page(page, protests, self._now(moment), after)
        return msgspec.structs.replace(view, as_of=moment.as_of, known_at=moment.known_at)

    async def _protests_in_sql(
        self, moment: Moment, key: ProtestKey | None, limit: int | None
    ) -> tuple[Page[ProtestTotals], list[Seen]]:
        """The page of all open protests from the index: the count and open demands of the
        rows that match, and the page's rows in order, in one SQL read; the bent protests,
        folded, merged into both."""
        engine = self.store.engine
        values = self._values(moment, "protest", None)
        bent = await self._bent("bent", values, moment)
        values["R"] = stored_time(engine, key[0] if key is not None else EARLIEST)
        values["S"] = key[1] if key is not None else ""
        values["L"] = (limit if limit is not None else PAGE_ALL) + 1
        read = protests_read_name(await self._known(moment), moment.as_of is not None, not bent)
        totals = ProtestTotals()
        candidates: list[tuple[ProtestKey, Seen]] = []
        for stream_id, version, position, recorded, rank, count, demands in await self._query(
            read, values
        ):
            if stream_id is None:
                totals.count, totals.open_demands = int(count), int(demands)
                continue
            lodged = read_stored_time(engine, rank)
            seen = Seen(
                stream_id,
                version,
                position,
                read_stored_time(engine, recorded),
                None,
                True,
                Summary(lodged),
            )
            candidates.append(((lodged, stream_id), seen))
        for folded in bent:
            state = folded.state
            if not isinstance(state, ProtestState) or state.status != "open":
                continue
            totals.count += 1
            totals.open_demands += open_demands_of(state)
            order = protest_order(state)
            if key is None or order > key:
                candidates.append((order, seen_of(folded)))
        candidates.sort(key=lambda candidate: candidate[0])
        end = len(candidates) if limit is None else min(len(candidates), limit)
        chosen = [seen for _, seen in candidates[:end]]
        page = Page([s.stream_id for s in chosen], totals, end < len(candidates))
        return page, chosen

    async def incidents(
        self,
        moment: Moment,
        where: IncidentFilter = ANY_INCIDENT,
        after: str | None = None,
        limit: int | None = None,
    ) -> IncidentsView:
        """As :meth:`Projections.incidents`, at ``moment``: the counts and order from the
        incidents' rows, the states of the page's incidents only."""
        missions = await self.missions_at(moment)
        receiving = {
            m.stream_id: m.state.receiving_state
            for m in missions.values()
            if isinstance(m.state, MissionState)
        }
        held = held_incidents()
        seen: dict[str, Seen] = {}
        entries = []
        for s in await self._seen("incident", moment):
            if s.summary.place is not None:
                seen[s.stream_id] = s
                place = incident_place(s.stream_id, s.mission, s.summary.place)
                entries.append(incident_entry(place, receiving))
        held.load(entries)
        key = None
        if after is not None:
            key = held.key_of(after)
            if key is None:
                raise PastCursorError(f"after={after!r} is not an incident of the log then")
        page = select_incidents(held, where, key, limit)
        states = await self._states(seen[stream_id] for stream_id in page.stream_ids)
        rows = [
            incident_row(f.state, receiving) for f in states if isinstance(f.state, IncidentState)
        ]
        view = incidents_page(page, rows, after)
        return msgspec.structs.replace(view, as_of=moment.as_of, known_at=moment.known_at)

    async def missions(self, moment: Moment) -> MissionsView:
        """As :meth:`Projections.missions`, at ``moment``: the tallies counted from every
        stream's row at that moment (its mission, whether open, a note's sender)."""
        missions = await self.missions_at(moment)
        counts: dict[str, dict[str, int]] = {}
        latest: dict[str, tuple[int, datetime]] = {}
        handed: dict[str, int] = {}
        for category in ("incident", "note", "protest", "statement"):
            for s in await self._seen(category, moment):
                place = s.summary.place
                if category == "protest" and s.is_open and place is not None:
                    via = handed_via(place, s.mission)
                    if via is not None:
                        handed[via] = handed.get(via, 0) + 1
                if s.mission is None or category == "statement":
                    continue
                sender = note_sender(place) if category == "note" and place else None
                labels = labels_for(category, s.is_open, sender)
                if not labels:
                    continue
                bucket = counts.setdefault(s.mission, {})
                for label in labels:
                    bucket[label] = bucket.get(label, 0) + 1
                if s.position > latest.get(s.mission, (0, s.recorded_at))[0]:
                    latest[s.mission] = (s.position, s.recorded_at)
        tallies = [
            MissionTally(name, bucket, *latest.get(name, (0, None)))
            for name, bucket in counts.items()
        ]
        rows = [(_row(m), m.state) for m in missions.values()]
        view = with_protests_handed_to(missions_from_tallies(_mission_rows(rows), tallies), handed)
        return msgspec.structs.replace(view, as_of=moment.as_of, known_at=moment.known_at)

    async def _notes_of(self, mission: str, moment: Moment) -> list[State]:
        """The open notes that name ``mission`` at ``moment``, as the note views read them:
        among those that name it now and those whose mission a correction changed."""
        named = await self._seen("note", moment, mission, only_open=True)
        others: list[Seen] = []
        if not await self._uses_index(moment):
            corrected = await self._corrected_streams("note")
            others = [
                seen_of(folded)
                for folded in await self._streams_at(
                    sorted(corrected - {n.stream_id for n in named}), moment
                )
            ]
        chosen = [
            s
            for s in sorted([*named, *others], key=lambda s: s.stream_id)
            if s.is_open and s.mission == mission
        ]
        return [folded.state for folded in await self._states(chosen)]

    async def _streams_at(self, stream_ids: list[str], moment: Moment) -> list[StreamInTime]:
        """The given streams (of one category) at ``moment``, in stream id order."""
        if not stream_ids:
            return []
        rows = await self.store.get_streams(stream_ids)
        return await self._at(rows.values(), moment, category_of(stream_ids[0]), sweep=False)

    async def _corrected_streams(self, category: str) -> set[str]:
        """The streams of a category with a correction of their ``mission`` (caught up with
        the log): the only ones that may have named another mission at some moment."""
        async with self._lock:
            while True:
                page = await self.store.read_all(
                    self._corrected_at, PAGE, types=sorted(CORRECTION_TYPES.values())
                )
                self._corrected.update(
                    event.stream_id
                    for event in page
                    if "mission" in _decode_changes(event.data).changes
                )
                if page:
                    self._corrected_at = page[-1].position
                if len(page) < PAGE:
                    break
            return {s for s in self._corrected if s.startswith(f"{category}-")}


class _Changes(msgspec.Struct):
    """What a correction's data says it changes (the rest of it is skipped)."""

    changes: dict[str, Any] = {}


_decode_changes = msgspec.json.Decoder(_Changes).decode


def _states(folded: Iterable[StreamInTime], kind: type[MissionState]) -> list[MissionState]:
    return [f.state for f in folded if isinstance(f.state, kind)]


def _states_of(states: list[State], kind: type[T]) -> list[T]:
    return [s for s in states if isinstance(s, kind)]


def _row(folded: StreamInTime) -> StreamRow:
    """A stream row standing for the stream as folded at the moment."""
    return StreamRow(
        stream_id=folded.stream_id,
        category="mission",
        version=folded.version,
        state=msgspec.Raw(encode_state(folded.state)),
        mission=mission_of(folded.state),
        is_open=is_open(folded.state),
        last_position=folded.last_position,
        updated_at=folded.updated_at,
    )


def _mission_rows(
    rows: list[tuple[StreamRow, State]],
) -> list[tuple[StreamRow, MissionState]]:
    return [(row, state) for row, state in rows if isinstance(state, MissionState)]
