"""Folding every stream of the log again and comparing it with the live rows.

``EventStore.fold_streams`` (``incidents replay``) hands each stream's events, first to
last, to a :class:`StreamFolder` the caller gives (the domain's fold, say), compares the
snapshot it makes with the stream's live row and reports what differs. How the log is read
is the engine's business: :func:`fold_through_reads` goes through the port's paged reads
(``read_by_stream``, ``list_streams_after``), which every adapter offers; SQLite reads its
file itself, in ranges of stream ids over worker processes (``store/sqlite_fold.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, cast

import msgspec

from incidents.store.protocol import LoggedEvent, RuleViolation, StreamRow, StreamSnapshot

if TYPE_CHECKING:
    from incidents.store.protocol import EventStore

# What a folder adds up over the rebuilt streams: counts by key, then by label.
Counts = dict[str, dict[str, int]]


class FoldedEvent(LoggedEvent, Protocol):
    """What a folder may read of each event (a RecordedEvent has it, and so has the light
    row the SQLite path reads)."""

    @property
    def version(self) -> int: ...


class FoldOptions(NamedTuple):
    """How :meth:`EventStore.fold_streams` runs: ``keep`` the rebuilt snapshot of each
    stream that differs; ``workers``: how many processes an engine that can split the work
    uses (SQLite; None: its choice); ``progress`` is told of events folded."""

    keep: bool = False
    workers: int | None = None
    progress: Callable[[int], None] | None = None


class FoldsThroughReads:
    """``fold_streams`` through the port's paged reads, for an adapter with no way of its
    own (memory, PostgreSQL)."""

    async def fold_streams(self, folder: StreamFolder, options: FoldOptions) -> FoldReport:
        """Fold every stream again and compare it with its live row (see the module)."""
        store = cast("EventStore", self)
        return await fold_through_reads(store, folder, keep=options.keep, progress=options.progress)


class StreamFolder(Protocol):
    """What folds a stream again; it is pickled into worker processes, so it holds nothing
    a process cannot send."""

    def fold(self, stream_id: str, events: Sequence[FoldedEvent]) -> StreamSnapshot:
        """The snapshot of a stream from all its events, first to last (RuleViolation if
        the log breaks a rule)."""
        ...

    def count(self, counts: Counts, stream_id: str, snapshot: StreamSnapshot) -> None:
        """Add what a rebuilt stream counts for to ``counts`` (or nothing)."""
        ...


class FoldReport(msgspec.Struct):
    """What folding the log again found.

    ``differences``: (stream id, reason) in stream id order, a live row with no events in
    the log ("no events in the log"), a state that differs ("state differs"), equal states
    whose ``mission`` or ``is_open`` differ ("index columns differ"); ``missing``: streams
    with events but no live row; ``repairable``: the rebuilt snapshot of each stream that
    differs or is missing, when asked to keep them; ``counts``: the folder's counts;
    ``violation``: the RuleViolation of the first stream the folder refused, as
    (event_index, rule, detail, append_index), and nothing else then.
    """

    events: int
    streams: int
    differences: list[tuple[str, str]]
    missing: list[str]
    repairable: dict[str, StreamSnapshot]
    counts: Counts = msgspec.field(default_factory=dict)
    violation: tuple[int, str, str, int] | None = None


def difference(row: tuple[bytes, str | None, bool], snapshot: StreamSnapshot) -> str | None:
    """Why a live row (state, mission, open flag) is not the rebuilt snapshot, or None."""
    if row[0] != snapshot.state:
        return "state differs"
    if row[1] != snapshot.mission or row[2] != snapshot.is_open:
        return "index columns differ"
    return None


def merge_counts(into: Counts, counts: Counts) -> None:
    """Add ``counts`` into ``into``."""
    for key, labels in counts.items():
        bucket = into.setdefault(key, {})
        for label, number in labels.items():
            bucket[label] = bucket.get(label, 0) + number


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


async def fold_through_reads(
    store: EventStore,
    folder: StreamFolder,
    *,
    keep: bool,
    progress: Callable[[int], None] | None = None,
    page_size: int = 10_000,
) -> FoldReport:
    """:meth:`EventStore.fold_streams` through the port's paged reads: the log stream by
    stream, each stream folded in one go and let go, merged with the live rows read in the
    same order (so a live row whose stream has no events is found as well)."""
    live = _LiveRows(store, page_size)
    report = FoldReport(0, 0, [], [], {})
    differences = report.differences

    async def compare(rebuilt: list[tuple[str, StreamSnapshot]]) -> None:
        """Merge a page's rebuilt streams with the live rows, both in stream id order."""
        for stream_id, snapshot in rebuilt:
            folder.count(report.counts, stream_id, snapshot)
            row = live.buffered()
            if row is None or row.stream_id != stream_id:
                key = stream_id.encode()
                while (row := await live.peek()) is not None and row.stream_id.encode() < key:
                    differences.append((row.stream_id, "no events in the log"))
                    live.take()
                if row is None or row.stream_id != stream_id:
                    report.missing.append(stream_id)
                    if keep:
                        report.repairable[stream_id] = snapshot
                    continue
            live.take()
            reason = difference((bytes(row.state), row.mission, row.is_open), snapshot)
            if reason is not None:
                differences.append((stream_id, reason))
                if keep:
                    report.repairable[stream_id] = snapshot

    # Pages are read one after the other, not ahead: reading the next page in a thread
    # while this one is folded was slower (each row the reader makes waits for the GIL).
    current = ""
    events: list[FoldedEvent] = []
    after: tuple[str, int] | None = None
    try:
        while page := await store.read_by_stream(after, page_size):
            # Every stream that ends in this page is folded; the last may go on in the next.
            rebuilt: list[tuple[str, StreamSnapshot]] = []
            for event in page:
                if event.stream_id != current:
                    if events:
                        rebuilt.append((current, folder.fold(current, events)))
                    current = event.stream_id
                    events = []
                events.append(event)
            report.streams += len(rebuilt)
            await compare(rebuilt)
            report.events += len(page)
            if progress is not None:
                progress(len(page))
            if len(page) < page_size:
                break
            after = (page[-1].stream_id, page[-1].version)
        if events:
            report.streams += 1
            await compare([(current, folder.fold(current, events))])
    except RuleViolation as error:
        report.violation = (error.event_index, error.rule, error.detail, error.append_index)
        return report
    while (row := await live.peek()) is not None:
        differences.append((row.stream_id, "no events in the log"))
        live.take()
    return report
