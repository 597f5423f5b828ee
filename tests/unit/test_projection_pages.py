"""Read models held in memory follow the log.

Given a Projections that has read (and so holds) some missions' states, when streams are
appended to, answered, closed or moved to another mission by a correction, then each of its
views is what a fresh Projections, which holds nothing, reads from the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

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
from incidents.projections.reader import Projections
from incidents.projections.states import CurrentStates
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import EventStore, ProposedEvent
from incidents.store.sqlite import SqliteEventStore

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
        assert await held.open_protests(mission=mission) == await fresh.open_protests(
            mission=mission
        )
        assert await held.incidents(mission) == await fresh.incidents(mission)
    assert await held.missions() == await fresh.missions()


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
    store = MemoryEventStore(DomainRules())
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


async def test_missions_asked_for_by_any_name_are_let_go_too() -> None:
    store = MemoryEventStore(DomainRules())
    await register_missions(store)
    held = Projections(store, 30, lambda: NOW, max_held_streams=10)
    for n in range(50):
        assert (await held.unanswered_notes(f"mission-none-{n}")).missions == []
        assert (await held.open_protests(mission=f"mission-none-{n}")).protests == []
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


async def test_appends_through_another_store_on_the_same_file_are_seen(tmp_path: Path) -> None:
    # (another process sharing the log)
    path = str(tmp_path / "shared.db")
    reading = await SqliteEventStore.open(path, DomainRules())
    writing = await SqliteEventStore.open(path, DomainRules())
    try:
        await register_missions(writing)
        held = Projections(reading, 30, lambda: NOW)
        assert (await held.unanswered_notes(A)).missions == []
        await append(writing, "note-1", note(A, "AZ", "FR"), "2022-08-17T00:00:00Z")
        (paris,) = (await held.unanswered_notes(A)).missions
        assert paris.sent.count == 1
        await append(
            writing,
            "note-1",
            ReplyReceived(from_=Party(state="FR"), disposition="rejected"),
            "2022-09-17T00:00:00Z",
        )
        assert (await held.unanswered_notes(A)).missions == []
        assert [row.notes_sent_unanswered for row in (await held.missions()).missions] == [0, 0, 0]
    finally:
        await reading.close()
        await writing.close()
