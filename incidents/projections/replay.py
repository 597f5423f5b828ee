"""Rebuild every stream's folded state from the log and compare it with the live one.

The live states are kept by the store's writer as events are committed; replay folds the
whole log again with the same rules and reports every stream whose state, mission or
open flag differs. With ``repair`` it writes the rebuilt states back.

The log is read stream by stream (``EventStore.read_by_stream``: by stream id, then
version), so each stream is folded in one go, from its first event, compared with its live
row and let go: memory holds one page of events and one stream's state, whatever the size
of the log. The live rows are read in the same order (``list_streams_after``) and the two
sequences are merged, so a live row whose stream has no events is found as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import msgspec

from incidents.store.protocol import (
    EventStore,
    RecordedEvent,
    StreamRow,
    StreamRules,
    StreamSnapshot,
)


class StreamDifference(msgspec.Struct, frozen=True):
    """A stream whose live state is not what the log folds to."""

    stream_id: str
    reason: str


class ReplayReport(msgspec.Struct, frozen=True):
    """What a replay found."""

    events: int
    streams: int
    differences: list[StreamDifference]
    repaired: bool = False


@runtime_checkable
class StreamFolder(Protocol):
    """Rules that can fold a stream's whole log without deciding each event again.

    Every event in the log was accepted by the rules when it was appended, so replay may
    fold it without checking it again; ``fold(stream_id, events)`` must give the snapshot
    ``apply(stream_id, None, events)`` gives for a log the rules accepted.
    """

    def fold(self, stream_id: str, events: Sequence[RecordedEvent]) -> StreamSnapshot:
        """The snapshot of a stream from all its events, first to last."""
        ...


class _LiveRows:
    """The store's live stream rows in stream id order, a page at a time."""

    def __init__(self, store: EventStore, page_size: int) -> None:
        self._store = store
        self._page_size = page_size
        self._page: list[StreamRow] = []
        self._index = 0
        self._after: str | None = None
        self._done = False

    async def peek(self) -> StreamRow | None:
        """The next row, without taking it; None once every row was taken."""
        if self._index == len(self._page):
            if self._done:
                return None
            self._page = await self._store.list_streams_after(self._after, self._page_size)
            self._index = 0
            if len(self._page) < self._page_size:
                self._done = True
            if not self._page:
                return None
            self._after = self._page[-1].stream_id
        return self._page[self._index]

    def buffered(self) -> StreamRow | None:
        """The next row if it is already read, else None (then ask peek())."""
        return self._page[self._index] if self._index < len(self._page) else None

    def take(self) -> None:
        """Move past the row peek() returned."""
        self._index += 1


def _order(stream_id: str) -> bytes:
    # Stores order stream ids by their bytes; comparing str by code point is the same for
    # the ASCII ids the contract allows, but bytes say what is meant.
    return stream_id.encode()


async def replay(
    store: EventStore,
    rules: StreamRules,
    repair: bool = False,
    progress: Callable[[int], None] | None = None,
    page_size: int = 10_000,
) -> ReplayReport:
    """Rebuild all stream states and report (and optionally repair) every difference.

    Differences come in stream id order: a live row with no events in the log ("no events
    in the log"), a state that differs ("state differs"), equal states whose ``mission`` or
    ``is_open`` differ ("index columns differ"); then, by stream id, the streams with
    events but no live row ("missing from the live states").
    """
    fold = rules.fold if isinstance(rules, StreamFolder) else None
    live = _LiveRows(store, page_size)
    differences: list[StreamDifference] = []
    missing: list[StreamDifference] = []
    repairable: dict[str, StreamSnapshot] = {}
    count = 0
    streams = 0

    def rebuild(stream_id: str, events: list[RecordedEvent]) -> StreamSnapshot:
        return fold(stream_id, events) if fold else rules.apply(stream_id, None, events)

    async def compare(rebuilt: list[tuple[str, StreamSnapshot]]) -> None:
        """Merge a page's rebuilt streams with the live rows, both in stream id order."""
        for stream_id, snapshot in rebuilt:
            row = live.buffered()
            if row is None or row.stream_id != stream_id:
                key = _order(stream_id)
                while (row := await live.peek()) is not None and _order(row.stream_id) < key:
                    differences.append(StreamDifference(row.stream_id, "no events in the log"))
                    live.take()
                if row is None or row.stream_id != stream_id:
                    missing.append(StreamDifference(stream_id, "missing from the live states"))
                    repairable[stream_id] = snapshot
                    continue
            live.take()
            if bytes(row.state) != snapshot.state:
                reason = "state differs"
            elif row.mission != snapshot.mission or row.is_open != snapshot.is_open:
                reason = "index columns differ"
            else:
                continue
            differences.append(StreamDifference(stream_id, reason))
            repairable[stream_id] = snapshot

    # Pages are read one after the other, not ahead: reading the next page in a thread
    # while this one is folded was slower (each row the reader makes waits for the GIL).
    current = ""
    events: list[RecordedEvent] = []
    after: tuple[str, int] | None = None
    while page := await store.read_by_stream(after, page_size):
        # Every stream that ends in this page is folded; the last may go on in the next.
        rebuilt: list[tuple[str, StreamSnapshot]] = []
        for event in page:
            if event.stream_id != current:
                if events:
                    rebuilt.append((current, rebuild(current, events)))
                current = event.stream_id
                events = []
            events.append(event)
        streams += len(rebuilt)
        await compare(rebuilt)
        count += len(page)
        if progress is not None:
            progress(len(page))
        if len(page) < page_size:
            break
        after = (page[-1].stream_id, page[-1].version)
    if events:
        streams += 1
        await compare([(current, rebuild(current, events))])
    while (row := await live.peek()) is not None:
        differences.append(StreamDifference(row.stream_id, "no events in the log"))
        live.take()
    differences.extend(missing)
    if repair and repairable:
        await store.replace_snapshots(repairable)
    return ReplayReport(count, streams, differences, repaired=repair and bool(repairable))
