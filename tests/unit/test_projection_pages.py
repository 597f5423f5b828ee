"""Read models held in memory follow the log, and paged views give everything once.

Given a Projections that has read (and so holds) some missions' states, when streams are
appended to, answered, closed or moved to another mission by a correction, then each of its
views is what a fresh Projections, which holds nothing, reads from the store. Given a log,
when a client follows ``next_after`` page by page, then it gets every row of the whole view
exactly once, in the view's order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from incidents.domain.events import (
    DemandAnswered,
    EventData,
    IncidentClosed,
    IncidentReported,
    MissionCorrected,
    MissionRegistered,
    NoteAcknowledged,
    NoteCorrected,
    NoteSent,
    Party,
    ProtestClosed,
    ProtestLodged,
    ReplyReceived,
    encode_data,
)
from incidents.domain.rules import DomainRules
from incidents.projections import states as states_module
from incidents.projections.incidents_by_mission import IncidentFilter
from incidents.projections.inline import inline_projections
from incidents.projections.open_protests import ProtestFilter
from incidents.projections.reader import CursorError, Projections
from incidents.projections.states import CurrentStates
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import EventStore, ProposedEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
A, B, C = "mission-az-paris", "mission-de-baku", "mission-fr-baku"
MISSIONS = {A: ("AZ", "FR", "Paris"), B: ("DE", "AZ", "Baku"), C: ("FR", "AZ", "Baku")}
ASKED: list[str | None] = [A, B, C, None, "mission-named-by-nothing"]


async def append(store: EventStore, stream_id: str, data: EventData, at: str) -> UUID:
    event_id = uuid4()
    occurred = datetime.fromisoformat(at.replace("Z", "+00:00"))
    event = ProposedEvent(event_id, type(data).__name__, encode_data(data), occurred_at=occurred)
    await store.append(stream_id, [event])
    return event_id


def note(mission: str | None, sender: str, to: str, subject: str = "the embassy") -> NoteSent:
    return NoteSent(from_=Party(state=sender), to=Party(state=to), subject=subject, mission=mission)


def protest(mission: str | None, *demands: Any) -> ProtestLodged:
    return ProtestLodged(
        by=Party(state="AZ"),
        to=Party(state="FR"),
        form="note",
        demands=list(demands),
        mission=mission,
    )


async def register_missions(store: EventStore) -> None:
    for mission, (sending, receiving, city) in MISSIONS.items():
        registered = MissionRegistered(
            sending_state=sending,
            receiving_state=receiving,
            city=city,
            kind="embassy",
            name=f"Embassy of {sending} in {receiving}",
        )
        await append(store, mission, registered, "2015-01-01T00:00:00Z")


async def same_views(held: Projections, store: EventStore) -> None:
    """Every view ``held`` gives is the one a fresh reader of ``store`` gives."""
    fresh = Projections(store, 30, lambda: NOW)
    for mission in ASKED:
        assert await held.unanswered_notes(mission) == await fresh.unanswered_notes(mission)
        where = ProtestFilter(mission=mission)
        assert await held.open_protests(where) == await fresh.open_protests(where)
        assert await held.incidents(IncidentFilter(mission=mission)) == await fresh.incidents(
            IncidentFilter(mission=mission)
        )
    assert await held.unanswered_notes(limit=1) == await fresh.unanswered_notes(limit=1)
    assert await held.missions() == await fresh.missions()
    # the views of every protest and every incident, whole, filtered, and paged
    for protests in (
        ProtestFilter(),
        ProtestFilter(by="az"),
        ProtestFilter(to="FR", mission=A),
    ):
        assert await held.open_protests(protests) == await fresh.open_protests(protests)
    assert await held.open_protests(limit=1) == await fresh.open_protests(limit=1)
    since = datetime(2022, 9, 1, tzinfo=UTC)
    for incidents in (
        IncidentFilter(),
        IncidentFilter(host_state="az"),
        IncidentFilter(kind="attack", since=since),
    ):
        assert await held.incidents(incidents) == await fresh.incidents(incidents)
    assert await held.incidents(limit=1) == await fresh.incidents(limit=1)


# Each step changes what some view shows; ``same_views`` runs after every one.
Step = Callable[[EventStore, dict[str, UUID]], Awaitable[None]]


async def _notes(store: EventStore, ids: dict[str, UUID]) -> None:
    ids["note-1"] = await append(store, "note-1", note(A, "AZ", "FR"), "2022-08-17T00:00:00Z")
    ids["note-2"] = await append(store, "note-2", note(A, "FR", "AZ"), "2022-09-01T00:00:00Z")
    ids["note-3"] = await append(store, "note-3", note(B, "DE", "AZ"), "2022-09-02T00:00:00Z")
    ids["note-4"] = await append(store, "note-4", note(None, "AZ", "DE"), "2022-09-03T00:00:00Z")


async def _protests(store: EventStore, ids: dict[str, UUID]) -> None:
    lodged = protest(A, "investigation", "apology")
    ids["protest-1"] = await append(store, "protest-1", lodged, "2022-09-19T09:00:00Z")
    await append(store, "protest-2", protest(B, "apology"), "2022-09-20T09:00:00Z")
    reported = IncidentReported(kind="attack", title="Embassy stormed", mission=A)
    await append(store, "incident-1", reported, "2022-09-18T12:20:00Z")


async def _answers(store: EventStore, ids: dict[str, UUID]) -> None:
    await append(
        store,
        "note-1",
        ReplyReceived(from_=Party(state="FR"), disposition="rejected"),
        "2022-10-01T00:00:00Z",
    )
    await append(store, "note-2", NoteAcknowledged(), "2022-10-02T00:00:00Z")
    await append(
        store, "protest-1", DemandAnswered(demand="apology", outcome="met"), "2022-10-03T00:00:00Z"
    )


async def _moves(store: EventStore, ids: dict[str, UUID]) -> None:
    # a note corrected to another mission, a note that named none given one
    moved = NoteCorrected(corrects=ids["note-3"], changes={"mission": C}, reason="misfiled")
    await append(store, "note-3", moved, "2022-10-04T00:00:00Z")
    named = NoteCorrected(corrects=ids["note-4"], changes={"mission": B}, reason="found")
    await append(store, "note-4", named, "2022-10-05T00:00:00Z")


async def _closures(store: EventStore, ids: dict[str, UUID]) -> None:
    await append(store, "protest-2", ProtestClosed(reason="answered"), "2022-10-06T00:00:00Z")
    await append(store, "incident-1", IncidentClosed(reason="settled"), "2022-10-07T00:00:00Z")
    window = MissionCorrected(
        corrects=ids["registered-a"], changes={"reply_window_days": 400}, reason="agreed"
    )
    await append(store, A, window, "2022-10-08T00:00:00Z")


async def _more(store: EventStore, ids: dict[str, UUID]) -> None:
    for n in range(5):
        await append(store, f"note-m{n}", note(C, "FR", "AZ"), f"2023-01-0{n + 1}T00:00:00Z")
    await append(store, "note-m5", note(None, "AZ", "FR"), "2023-02-01T00:00:00Z")


STEPS: list[Step] = [_notes, _protests, _answers, _moves, _closures, _more]


@pytest.mark.parametrize(
    ("max_streams", "catch_up_page", "reset_after"),
    [(20_000, 500, 5_000), (1, 500, 5_000), (20_000, 1, 5_000), (20_000, 1, 1), (2, 2, 3)],
    ids=["held", "let-go", "paged-catch-up", "reset", "all-of-it"],
)
async def test_views_held_in_memory_follow_every_append(
    max_streams: int, catch_up_page: int, reset_after: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(states_module, "CATCH_UP_PAGE", catch_up_page)
    store = MemoryEventStore(DomainRules(), inline_projections())
    await register_missions(store)
    ids: dict[str, UUID] = {}
    ids["registered-a"] = (await store.read_stream(A))[0].event_id
    held = Projections(store, 30, lambda: NOW)
    held.states = CurrentStates(store, max_streams=max_streams, reset_after=reset_after)
    await same_views(held, store)
    for step in STEPS:
        await step(store, ids)
        await same_views(held, store)
    if max_streams == 1:
        assert held.states.held_streams <= 5  # what the last read asked for, no more


async def test_a_read_far_behind_keeps_the_places_while_catching_up_costs_less(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a reader holding the places of ten incidents, that resets 2 events behind
    monkeypatch.setattr(states_module, "CATCH_UP_PAGE", 1)
    store = MemoryEventStore(DomainRules(), inline_projections())
    await register_missions(store)
    for n in range(10):
        reported = IncidentReported(kind="attack", title="Stones thrown", mission=B)
        await append(store, f"incident-r{n}", reported, f"2021-0{n % 9 + 1}-01T00:00:00Z")
    held = Projections(store, 30, lambda: NOW)
    held.states = CurrentStates(store, reset_after=2)
    assert (await held.incidents()).count == 10
    places = held.states.held_places
    assert places == 10

    # when fewer events than it holds places come in, then it catches the places up
    for n in range(3):
        await append(
            store, f"incident-r{n}", IncidentClosed(reason="settled"), "2022-01-01T00:00:00Z"
        )
        await append(store, f"note-r{n}", note(A, "AZ", "FR"), "2022-01-02T00:00:00Z")
    kept = held.states._incidents
    assert await held.incidents() == await Projections(store, 30, lambda: NOW).incidents()
    assert held.states._incidents is kept

    # and when more events than it holds places come in, it lets them go and loads afresh
    for n in range(12):
        reported = IncidentReported(kind="attack", title="Stones thrown", mission=A)
        await append(store, f"incident-s{n}", reported, "2022-02-01T00:00:00Z")
    view = await held.incidents()
    assert view == await Projections(store, 30, lambda: NOW).incidents()
    assert view.count == 22 and held.states._incidents is not kept


async def test_missions_asked_for_by_any_name_are_let_go_too() -> None:
    store = MemoryEventStore(DomainRules(), inline_projections())
    await register_missions(store)
    held = Projections(store, 30, lambda: NOW, max_held_streams=10)
    for n in range(50):
        assert (await held.unanswered_notes(f"mission-none-{n}")).missions == []
        assert (await held.open_protests(ProtestFilter(mission=f"mission-none-{n}"))).protests == []
    assert held.states.held_groups <= 10


class AppendsDuringALoad(MemoryEventStore):
    """A store where an append lands just before the next list of streams is read."""

    before_list: Callable[[], Awaitable[Any]] | None = None

    async def list_streams(self, *args: Any, **kwargs: Any) -> Any:
        hook, self.before_list = self.before_list, None
        if hook is not None:
            await hook()
        return await super().list_streams(*args, **kwargs)


async def test_a_stream_moved_while_its_new_mission_loads_leaves_its_old_one() -> None:
    # the move is past the checkpoint already caught up, and in the rows the load reads
    store = AppendsDuringALoad(DomainRules())
    await register_missions(store)
    sent = await append(store, "note-3", note(B, "DE", "AZ"), "2022-09-02T00:00:00Z")
    held = Projections(store, 30, lambda: NOW)
    assert len((await held.unanswered_notes(B)).missions) == 1
    moved = NoteCorrected(corrects=sent, changes={"mission": C}, reason="misfiled")
    store.before_list = lambda: append(store, "note-3", moved, "2022-10-04T00:00:00Z")
    assert len((await held.unanswered_notes(C)).missions) == 1
    assert (await held.unanswered_notes(B)).missions == []


async def walked(read: Callable[[str | None], Awaitable[Any]]) -> list[Any]:
    """Every page, following ``next_after`` from the first until ``has_more`` is false."""
    pages = [await read(None)]
    while pages[-1].has_more:
        assert len(pages) < 100
        pages.append(await read(pages[-1].next_after))
    return pages


@pytest.fixture
async def log() -> MemoryEventStore:
    store = MemoryEventStore(DomainRules(), inline_projections())
    await register_missions(store)
    ids: dict[str, UUID] = {}
    ids["registered-a"] = (await store.read_stream(A))[0].event_id
    for step in STEPS[:3]:
        await step(store, ids)
    await _more(store, ids)
    for n in range(4):
        await append(store, f"protest-x{n}", protest(A, "apology"), f"2022-09-19T09:00:0{n}Z")
        reported = IncidentReported(kind="attack", title="Stones thrown", mission=B)
        await append(store, f"incident-x{n}", reported, f"2021-0{n + 1}-01T00:00:00Z")
    return store


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 200])
async def test_pages_of_unanswered_notes_give_every_mission_once(
    log: MemoryEventStore, limit: int
) -> None:
    projections = Projections(log, 30, lambda: NOW)
    whole = await projections.unanswered_notes()
    assert [row.mission for row in whole.missions] == [A, B, C, None]
    pages = await walked(lambda after: projections.unanswered_notes(after=after, limit=limit))
    assert [row for page in pages for row in page.missions] == whole.missions
    assert all(len([r for r in page.missions if r.mission]) <= limit for page in pages)
    assert sum(page.total_sent for page in pages) == whole.total_sent
    assert sum(page.total_overdue for page in pages) == whole.total_overdue
    assert pages[-1].has_more is False and all(page.has_more for page in pages[:-1])


async def test_notes_that_name_no_mission_come_on_a_page_of_their_own_when_the_last_is_full(
    log: MemoryEventStore,
) -> None:
    projections = Projections(log, 30, lambda: NOW)
    first = await projections.unanswered_notes(limit=3)
    assert [row.mission for row in first.missions] == [A, B, C]
    assert first.has_more and first.next_after == C
    last = await projections.unanswered_notes(after=C, limit=3)
    assert [row.mission for row in last.missions] == [None]
    assert not last.has_more and last.next_after == C


@pytest.mark.parametrize("limit", [1, 2, 5, 1000])
@pytest.mark.parametrize("mission", [A, None])
async def test_pages_of_open_protests_give_every_protest_once_oldest_first(
    log: MemoryEventStore, limit: int, mission: str | None
) -> None:
    projections = Projections(log, 30, lambda: NOW)
    whole = await projections.open_protests(ProtestFilter(mission=mission))
    assert whole.count == len(whole.protests) >= 5
    pages = await walked(
        lambda after: projections.open_protests(ProtestFilter(mission=mission), after, limit)
    )
    assert [row for page in pages for row in page.protests] == whole.protests
    assert all(page.count == whole.count for page in pages)
    assert all(page.open_demands == whole.open_demands for page in pages)


async def test_a_protest_closed_between_pages_still_marks_where_the_next_begins(
    log: MemoryEventStore,
) -> None:
    projections = Projections(log, 30, lambda: NOW)
    first = await projections.open_protests(ProtestFilter(mission=A), limit=2)
    assert first.next_after is not None
    await append(log, first.next_after, ProtestClosed(reason="answered"), "2023-01-01T00:00:00Z")
    rest = await projections.open_protests(ProtestFilter(mission=A), first.next_after)
    whole = await projections.open_protests(ProtestFilter(mission=A))
    assert [row.stream_id for row in rest.protests] == [row.stream_id for row in whole.protests[1:]]
    with pytest.raises(CursorError):
        await projections.open_protests(after="protest-never-lodged")
    with pytest.raises(CursorError):
        await projections.incidents(after="note-1")


@pytest.mark.parametrize("limit", [1, 3, 1000])
async def test_pages_of_incidents_give_every_incident_once_newest_first(
    log: MemoryEventStore, limit: int
) -> None:
    projections = Projections(log, 30, lambda: NOW)
    whole = await projections.incidents()
    assert whole.count == len(whole.incidents) == 5
    pages = await walked(lambda after: projections.incidents(after=after, limit=limit))
    assert [row for page in pages for row in page.incidents] == whole.incidents
    counts = msgspec.structs.replace(whole, incidents=[], next_after=None)
    for page in pages:
        assert (
            msgspec.structs.replace(page, incidents=[], next_after=None, has_more=False) == counts
        )
