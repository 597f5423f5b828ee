"""Replay reads the log stream by stream and merges it with the live rows: every kind of
difference is still found, in the same order, whatever the page size and the adapter.

Runs over every adapter (``store``) with TallyRules, which have no ``fold`` (replay calls
``apply``), and with a wrapper that adds one (replay's fast path).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.projections.replay import StreamDifference, replay
from incidents.store.memory import MemoryEventStore
from incidents.store.plan import StreamRecord
from incidents.store.protocol import EventStore, RecordedEvent, StreamSnapshot
from tests.conftest import open_test_store
from tests.store_rules import PagedReads, TallyRules, proposed


class FoldingTally(TallyRules):
    """TallyRules with the whole-stream fold replay prefers; counts its calls."""

    def __init__(self) -> None:
        self.folded = 0

    def fold(self, stream_id: str, events: Sequence[RecordedEvent]) -> StreamSnapshot:
        self.folded += 1
        return self.apply(stream_id, None, events)


async def fill(store: EventStore) -> None:
    """Streams of three categories whose events interleave in the log."""
    layout = [
        ("note-b", "Sent"),
        ("protest-a", "Lodged"),
        ("note-a", "Sent"),
        ("note-b", "Noted"),
        ("incident-z", "Reported"),
        ("note-a", "Closed"),
        ("note-c", "Sent"),
        ("protest-a", "Noted"),
        ("note-b", "Noted"),
    ]
    for stream_id, type_ in layout:
        await store.append(stream_id, [proposed(type_, b'{"mission":"mission-x"}')])


@pytest.mark.parametrize("page_size", [1, 2, 3, 10_000])
@pytest.mark.parametrize("rules", [TallyRules, FoldingTally])
async def test_an_untouched_log_replays_without_difference_in_pages_of_any_size(
    store: EventStore, page_size: int, rules: type[TallyRules]
) -> None:
    # given a log whose streams interleave
    await fill(store)

    # when it is replayed in pages of any size
    chosen = rules()
    report = await replay(PagedReads(store, page_size), chosen)

    # then every event and stream is counted, each stream folded once, nothing differs
    assert (report.events, report.streams, report.differences) == (9, 5, [])
    if isinstance(chosen, FoldingTally):
        assert chosen.folded == 5


@pytest.mark.parametrize("page_size", [1, 2, 10_000])
async def test_changed_states_and_index_columns_are_found_and_repaired(
    store: EventStore, page_size: int
) -> None:
    # given live rows changed behind the log's back: a state, and an index column
    await fill(store)
    note_b = await store.get_stream("note-b")
    protest_a = await store.get_stream("protest-a")
    assert note_b is not None and protest_a is not None
    await store.replace_snapshots(
        {
            "note-b": StreamSnapshot(b'{"count":99,"types":[]}', "mission-x", True),
            "protest-a": StreamSnapshot(bytes(protest_a.state), "mission-y", False),
        }
    )

    # when the log is replayed, then both are named, in stream id order
    report = await replay(PagedReads(store, page_size), FoldingTally())
    assert report.differences == [
        StreamDifference("note-b", "state differs"),
        StreamDifference("protest-a", "index columns differ"),
    ]

    # and a repair writes the folded states back, after which nothing differs
    repaired = await replay(PagedReads(store, page_size), TallyRules(), repair=True)
    assert repaired.repaired
    assert await store.get_stream("note-b") == note_b
    assert await store.get_stream("protest-a") == protest_a
    assert (await replay(store, TallyRules())).differences == []


def _sql(directory: Path, statement: str, *parameters: object) -> None:
    """Change the file as another program would, on a connection of its own."""
    connection = sqlite3.connect(directory / "store.db", isolation_level=None)
    try:
        connection.execute(statement, parameters)
    finally:
        connection.close()


def _remove_row(store: EventStore, directory: Path, stream_id: str) -> None:
    if isinstance(store, MemoryEventStore):
        del store._streams[stream_id]
    else:
        _sql(directory, "DELETE FROM streams WHERE stream_id = ?", stream_id)


def _add_row(store: EventStore, directory: Path, stream_id: str) -> None:
    snapshot = StreamSnapshot(b'{"count":1,"types":["Sent"]}', None, True)
    category = stream_id.split("-")[0]
    if isinstance(store, MemoryEventStore):
        store._streams[stream_id] = StreamRecord(category, 1, snapshot, 1, datetime.now(UTC))
    else:
        _sql(
            directory,
            "INSERT INTO streams (stream_id, category, version, state, mission, is_open,"
            " last_position, updated_at) VALUES (?, ?, 1, ?, NULL, 1, 1,"
            " '2026-01-01T00:00:00.000000Z')",
            stream_id,
            category,
            snapshot.state,
        )


@pytest.mark.parametrize("adapter", ["memory", "sqlite"])
@pytest.mark.parametrize("page_size", [1, 2, 10_000])
async def test_rows_without_events_and_streams_without_rows_are_found(
    adapter: str, page_size: int, tmp_path: Path
) -> None:
    # given live rows for streams with no events (one in a category the log never saw,
    # one before every stream, one between two), and two streams whose rows were lost
    store = await open_test_store(adapter, tmp_path, TallyRules())
    try:
        await fill(store)
        for ghost in ("statement-ghost", "incident-a", "note-bb"):
            _add_row(store, tmp_path, ghost)
        for lost in ("protest-a", "note-a"):
            _remove_row(store, tmp_path, lost)

        # when the log is replayed
        report = await replay(PagedReads(store, page_size), FoldingTally())

        # then rows without events come in stream id order, then the streams without rows
        assert report.differences == [
            StreamDifference("incident-a", "no events in the log"),
            StreamDifference("note-bb", "no events in the log"),
            StreamDifference("statement-ghost", "no events in the log"),
            StreamDifference("note-a", "missing from the live states"),
            StreamDifference("protest-a", "missing from the live states"),
        ]
        assert (report.events, report.streams) == (9, 5)
    finally:
        await store.close()
