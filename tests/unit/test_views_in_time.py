"""Views at a past moment (``as_of``, ``known_at``) against a reference fold: the events that
match the moment, folded from scratch by the domain's replay fold, through the pure views."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.domain.events import (
    DemandAnswered,
    EventData,
    IncidentClosed,
    IncidentReported,
    MissionRegistered,
    NoteCorrected,
    NoteSent,
    Party,
    ProtestClosed,
    ProtestLodged,
    ReplyReceived,
)
from incidents.domain.rules import OPENING_TYPES, DomainRules, fold_in_time
from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    State,
    decode_state,
)
from incidents.domain.times import DateRule, span
from incidents.projections.in_time import Moment, PastViews
from incidents.projections.incidents_by_mission import IncidentFilter, incidents_view
from incidents.projections.inline import inline_projections
from incidents.projections.open_protests import ProtestFilter, open_protests
from incidents.projections.unanswered_notes import unanswered_notes
from incidents.service import LogService
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import EventStore, RecordedEvent, RuleViolation, category_of

BASE = datetime(2022, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
MISSIONS = ("mission-az-paris", "mission-az-rome")
DEMANDS = ("investigation", "prosecution", "compensation")


@dataclass(frozen=True)
class NewEvent:
    data: EventData
    occurred_at: datetime | None = None
    event_id: uuid.UUID | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def day(n: int) -> datetime:
    return BASE + timedelta(days=n, hours=n % 5)


# How an operation's event is dated: a point, a day, or (unknown precision) bounded before
# or after its occurred time or on both sides.
DATINGS = ("point", "day", "before", "after", "both")
# One operation: (kind, which stream, which mission, day it occurred, how it is dated).
Operation = tuple[str, int, int, int, str]
operations = st.lists(
    st.tuples(
        st.sampled_from(
            ["note", "reply", "fix", "protest", "answer", "close", "settle", "incident", "end"]
        ),
        st.integers(0, 3),
        st.integers(0, 1),
        st.integers(0, 40),
        st.sampled_from(DATINGS),
    ),
    max_size=25,
)
rules = st.sampled_from(["possible", "certain"])


def dated(data: EventData, at: datetime, dating: str) -> EventData:
    """The event's data dated as ``dating`` says, ``at`` being its occurred time."""
    if dating == "day":
        return msgspec.structs.replace(data, occurred_precision="day")
    if dating == "point":
        return data
    after = at - timedelta(days=3) if dating in ("after", "both") else None
    if dating == "after":
        after = at
    before = at if dating in ("before", "both") else None
    return msgspec.structs.replace(
        data, occurred_precision="unknown", occurred_after=after, occurred_before=before
    )


async def build(ops: list[Operation]) -> MemoryEventStore:
    """A log from the operations in a memory store that keeps the service's inline
    projections (the in_time index among them)."""
    store = MemoryEventStore(DomainRules(), inline_projections())
    await fill(store, ops)
    return store


async def fill(store: EventStore, ops: list[Operation]) -> None:
    """Append the operations; those the rules refuse are left out, as a client's 422."""
    service = LogService(store, lambda: NOW)
    openings: dict[str, uuid.UUID] = {}
    for mission in MISSIONS:
        registered = MissionRegistered(
            sending_state="AZ",
            receiving_state="FR",
            city=mission.rsplit("-", 1)[1].title(),
            kind="embassy",
            name=mission,
        )
        await service.append(mission, [NewEvent(registered, BASE - timedelta(days=400))])
    for kind, which, mission_index, on, dating in ops:
        mission = MISSIONS[mission_index]
        at = day(on)
        data: EventData
        more: list[NewEvent] = []
        if kind == "fix":
            # A correction of the note's opening: to this mission, and to this day.
            stream = f"note-n{which}"
            if stream not in openings:
                continue
            data = NoteCorrected(
                corrects=openings[stream],
                changes={"mission": mission, "occurred_at": at.isoformat()},
                reason="misread",
            )
        elif kind == "settle":
            # Two events in one append: a demand answered, then the protest closed.
            stream = f"protest-p{which}"
            data = DemandAnswered(demand=DEMANDS[on % 3], outcome="met")  # type: ignore[arg-type]
            more = [NewEvent(ProtestClosed(reason="settled"), day(on + 2))]
        elif kind == "note":
            stream = f"note-n{which}"
            data = NoteSent(
                from_=Party(state="AZ"), to=Party(state="FR"), subject="s", mission=mission
            )
        elif kind == "reply":
            stream = f"note-n{which}"
            data = ReplyReceived(from_=Party(state="FR"), disposition="noncommittal")
        elif kind == "protest":
            stream = f"protest-p{which}"
            data = ProtestLodged(
                by=Party(state="AZ"),
                to=Party(state="FR"),
                form="note",
                demands=list(DEMANDS),  # type: ignore[arg-type]
                mission=mission,
            )
        elif kind == "answer":
            stream = f"protest-p{which}"
            data = DemandAnswered(demand=DEMANDS[on % 3], outcome="met")  # type: ignore[arg-type]
        elif kind == "close":
            stream = f"protest-p{which}"
            data = ProtestClosed(reason="settled")
        elif kind == "incident":
            stream = f"incident-i{which}"
            data = IncidentReported(kind="attack", title="t", mission=mission)
        else:
            stream = f"incident-i{which}"
            data = IncidentClosed(reason="closed")
        if kind != "fix":
            data = dated(data, at, dating)
        with contextlib.suppress(RuleViolation):
            result = await service.append(stream, [NewEvent(data, at), *more])
            openings.setdefault(stream, result.events[0].event_id)


def matches(event: RecordedEvent, moment: Moment) -> bool:
    """Whether the event was recorded by ``known_at`` and its span counts as occurred by
    ``as_of``: under ``possible`` its first possible instant (none: always) is by then,
    under ``certain`` its last (none: never)."""
    if moment.known_at is not None and event.recorded_at > moment.known_at:
        return False
    if moment.as_of is None:
        return True
    data = msgspec.json.decode(event.data)
    first, last = span(
        event.occurred_at,
        data.get("occurred_precision"),
        msgspec.convert(data.get("occurred_after"), datetime | None),
        msgspec.convert(data.get("occurred_before"), datetime | None),
    )
    if moment.rule == "possible":
        return first is None or first <= moment.as_of
    return last is not None and last <= moment.as_of


def reference_states(events: list[RecordedEvent], moment: Moment) -> dict[str, State]:
    """Each stream folded from scratch by the replay fold, from the events that match the
    moment (those before the opening left out, having nothing to fold onto)."""
    by_stream: dict[str, list[RecordedEvent]] = {}
    for event in events:
        if matches(event, moment):
            by_stream.setdefault(event.stream_id, []).append(event)
    states = {}
    for stream_id, kept in by_stream.items():
        openings = OPENING_TYPES[category_of(stream_id)]
        while kept and kept[0].type not in openings:
            kept = kept[1:]
        if kept:
            snapshot = DomainRules().fold(stream_id, kept)
            states[stream_id] = decode_state(category_of(stream_id), snapshot.state)
    return states


def of(states: dict[str, State], kind: type[Any]) -> list[Any]:
    return [s for _, s in sorted(states.items()) if isinstance(s, kind)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=operations,
    as_of=st.one_of(st.none(), st.integers(-1, 42)),
    known=st.one_of(st.none(), st.integers(0, 40)),
    one_by_one=st.sampled_from([0, 64]),
    rule=rules,
)
def test_any_view_in_time_equals_folding_the_matching_events_from_scratch(
    ops: list[Operation], as_of: int | None, known: int | None, one_by_one: int, rule: DateRule
) -> None:
    async def check() -> None:
        store = await build(ops)
        events = await store.read_all(0, 10_000)
        known_at = None
        if known is not None:
            known_at = events[min(known, len(events) - 1)].recorded_at
        moment = Moment(None if as_of is None else day(as_of), known_at, rule)
        # Streams the rows do not settle are read one by one, or swept by category (0); or
        # the in_time projection's versions are read, and only bent streams folded.
        folding = PastViews(store, 30, lambda: NOW, fold_one_by_one=one_by_one, indexed=False)
        indexed = PastViews(store, 30, lambda: NOW, indexed=True)
        # The reference fold knows nothing of corrections (fold_in_time's own tests do):
        # with one in the log, the index is checked against the fold alone.
        reference = not any(event.type == "NoteCorrected" for event in events)
        for past in (folding, indexed):
            await check_views(past, store, events, moment, reference)
        await same_views(folding, indexed, moment)
        await store.close()

    asyncio.run(check())


async def same_views(folding: PastViews, indexed: PastViews, moment: Moment) -> None:
    """Every view at ``moment`` is the same by the fold and by the index."""
    for mission in (None, *MISSIONS):
        assert await folding.unanswered_notes(moment, mission) == (
            await indexed.unanswered_notes(moment, mission)
        )
    assert await folding.open_protests(moment) == await indexed.open_protests(moment)
    assert await folding.incidents(moment) == await indexed.incidents(moment)
    assert await folding.missions(moment) == await indexed.missions(moment)
    # A page at a time, filtered or not: the counts of all, the page's rows, the cursor.
    for mission in (None, MISSIONS[0]):
        for by in (None, "az", "FR"):
            after = None
            while True:
                where = ProtestFilter(by=by, mission=mission)
                page = await folding.open_protests(moment, where, after, limit=1)
                assert page == await indexed.open_protests(moment, where, after, limit=1)
                if not page.has_more:
                    break
                after = page.next_after
        after = None
        while True:
            chosen = IncidentFilter(mission=mission)
            incidents = await folding.incidents(moment, chosen, after, limit=1)
            assert incidents == await indexed.incidents(moment, chosen, after, limit=1)
            if not incidents.has_more:
                break
            after = incidents.next_after
    after = None
    while True:
        notes = await folding.unanswered_notes(moment, after=after, limit=1)
        assert notes == await indexed.unanswered_notes(moment, after=after, limit=1)
        if not notes.has_more:
            break
        after = notes.next_after


async def check_views(
    past: PastViews,
    store: MemoryEventStore,
    events: list[RecordedEvent],
    moment: Moment,
    reference: bool,
) -> None:
    """Each view at ``moment`` equals the pure view over the reference states (when the log
    has no correction)."""
    if not reference:
        return
    now = moment.as_of or NOW
    expected = reference_states(events, moment)
    missions = of(expected, MissionState)

    notes = await past.unanswered_notes(moment)
    want_notes = unanswered_notes(of(expected, NoteState), missions, now, 30)
    assert notes.missions == want_notes.missions
    for mission in MISSIONS:
        one = await past.unanswered_notes(moment, mission)
        assert [m.mission for m in one.missions] in ([], [mission])
        assert one.missions == [m for m in want_notes.missions if m.mission == mission]

    protests = await past.open_protests(moment)
    want = open_protests(of(expected, ProtestState), now)
    assert protests.protests == want.protests
    assert (protests.count, protests.open_demands) == (want.count, want.open_demands)

    incidents = await past.incidents(moment)
    want_incidents = incidents_view(of(expected, IncidentState), missions)
    assert incidents == msgspec.structs.replace(
        want_incidents, as_of=moment.as_of, known_at=moment.known_at
    )

    for stream_id, state in expected.items():
        folded = await past.stream(stream_id, moment)
        assert folded is not None and folded.state == state


def test_with_no_bounds_the_fold_in_time_is_the_stored_state() -> None:
    async def check() -> None:
        store = await build(
            [
                ("note", 0, 0, 3, "point"),
                ("reply", 0, 0, 5, "point"),
                ("protest", 1, 1, 2, "point"),
                ("answer", 1, 1, 4, "point"),
            ]
        )
        for stream_id in ("note-n0", "protest-p1", *MISSIONS):
            events = await store.read_stream(stream_id)
            row = await store.get_stream(stream_id)
            assert row is not None
            state = fold_in_time(stream_id, events)
            assert state == decode_state(row.category, row.state)

    asyncio.run(check())


def test_a_correction_changes_a_known_at_view_only_from_when_it_was_recorded() -> None:
    async def check() -> None:
        # Given a note sent about one mission, corrected later to name the other
        store = MemoryEventStore(DomainRules(), inline_projections())
        service = LogService(store, lambda: NOW)
        for mission in MISSIONS:  # a note may name only missions the log holds
            registered = MissionRegistered(
                sending_state="AZ", receiving_state="FR", city="Paris", kind="embassy", name=mission
            )
            await service.append(mission, [NewEvent(registered, BASE - timedelta(days=400))])
        sent = NoteSent(from_=Party(state="AZ"), to=Party(state="FR"), subject="s")
        opened = await service.append(
            "note-x", [NewEvent(msgspec.structs.replace(sent, mission=MISSIONS[0]), day(1))]
        )
        before = (await store.read_all())[-1].recorded_at
        correction = NoteCorrected(
            corrects=opened.events[0].event_id,
            changes={"mission": MISSIONS[1], "occurred_at": "2022-09-10T00:00:00Z"},
            reason="the text names the other embassy",
        )
        await service.append("note-x", [NewEvent(correction, day(30))])
        past = PastViews(store, 30, lambda: NOW)
        # then a view known before the correction shows the note where it was first put
        then = await past.unanswered_notes(Moment(None, before), MISSIONS[0])
        assert [n.stream_id for n in then.missions[0].sent.notes] == ["note-x"]
        # and one known after shows it moved, and dated as corrected, whatever as_of says
        moved = await past.unanswered_notes(Moment(None, None), MISSIONS[1])
        assert [n.stream_id for n in moved.missions[0].sent.notes] == ["note-x"]
        assert (await past.unanswered_notes(Moment(None, None), MISSIONS[0])).total_sent == 0
        early = await past.unanswered_notes(Moment(day(5), None), MISSIONS[1])
        assert early.total_sent == 0  # corrected to the 10th
        later = await past.unanswered_notes(Moment(day(10), None), MISSIONS[1])
        assert later.total_sent == 1
        # and the correction itself is listed only once it occurred
        folded = await past.stream("note-x", Moment(day(10), None))
        assert folded is not None and folded.state.corrections == []
        folded = await past.stream("note-x", Moment(None, None))
        assert folded is not None and len(folded.state.corrections) == 1

    asyncio.run(check())


def test_days_waiting_and_overdue_count_up_to_as_of() -> None:
    async def check() -> None:
        store = await build([("note", 0, 0, 0, "point")])
        past = PastViews(store, 30, lambda: NOW)
        early = await past.unanswered_notes(Moment(day(0) + timedelta(days=10), None))
        late = await past.unanswered_notes(Moment(day(0) + timedelta(days=31), None))
        assert early.missions[0].sent.notes[0].days_waiting == 10
        assert not early.missions[0].sent.notes[0].overdue
        assert late.missions[0].sent.notes[0].days_waiting == 31
        assert late.missions[0].sent.notes[0].overdue
        assert early.generated_at == day(0) + timedelta(days=10)

    asyncio.run(check())
