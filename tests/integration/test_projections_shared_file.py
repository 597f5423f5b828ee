"""Read models held in memory follow appends and repairs made by another store on the same
SQLite file (another process sharing the log): each view is what a fresh reader reads."""

from __future__ import annotations

from pathlib import Path

from incidents.domain.events import Party, ReplyReceived
from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.reader import Projections
from incidents.store.protocol import StreamSnapshot
from incidents.store.sqlite import SqliteEventStore
from tests.unit.test_projection_pages import NOW, A, append, note, register_missions, same_views


async def test_appends_through_another_store_on_the_same_file_are_seen(tmp_path: Path) -> None:
    # (another process sharing the log)
    path = str(tmp_path / "shared.db")
    reading = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
    writing = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
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


async def test_snapshots_repaired_by_another_store_are_seen(tmp_path: Path) -> None:
    # given a reader holding a mission's open note, and another store on the same file
    path = str(tmp_path / "repaired.db")
    reading = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
    writing = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
    try:
        await register_missions(writing)
        await append(writing, "note-1", note(A, "AZ", "FR", "the fence"), "2022-08-17T00:00:00Z")
        held = Projections(reading, 30, lambda: NOW)
        (before,) = (await held.unanswered_notes(A)).missions
        assert [n.subject for n in before.sent.notes] == ["the fence"]

        # when the other store replaces the note's snapshot without an event (a repair)
        row = await writing.get_stream("note-1")
        assert row is not None
        repaired = bytes(row.state).replace(b"the fence", b"the gate")
        await writing.replace_snapshots(
            {"note-1": StreamSnapshot(repaired, row.mission, row.is_open)}
        )

        # then the held view shows the repaired state, as a fresh reader does
        (after,) = (await held.unanswered_notes(A)).missions
        assert [n.subject for n in after.sent.notes] == ["the gate"]
        await same_views(held, reading)
    finally:
        await reading.close()
        await writing.close()
