"""Copies of a log that prove themselves: backup, export and import.

``backup`` copies a SQLite file with SQLite's online backup API: a consistent snapshot while
the service writes, page by page (for PostgreSQL, ``pg_dump``; docs/security.md says how).

``export`` writes the log as NDJSON, one envelope a line in position order, each with its
hash. ``import`` reads such a file into an empty log: it checks each line's hash against the
chain as it reads and refuses the file, naming the line, at the first that does not hold;
the command reads the whole file so before it stores anything. The events then go through
the store's verbatim appends (positions, times and hashes kept, the chain checked again by
the writer), a page a transaction, with the streams' states folded as they are stored: an
import killed midway leaves a prefix of the log whose chain and states hold. A log moved
SQLite -> PostgreSQL -> SQLite ends with the head hash it started with.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO

import msgspec

from incidents.core.streams import is_valid_stream_id
from incidents.store.chain import event_hash
from incidents.store.plan import verbatim_appends
from incidents.store.protocol import GENESIS_HASH, EventStore, RecordedEvent

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(RecordedEvent).decode
EXPORT_PAGE = 5000
IMPORT_PAGE = 2000


class ImportRefusedError(ValueError):
    """An export file that is not a whole, unaltered chain (the message names the line)."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {reason}")


def backup_sqlite(source: str, destination: Path, progress: Callable[[int, int], None]) -> int:
    """Copy the SQLite log at ``source`` to ``destination`` (which must not exist) with the
    online backup API; returns the pages copied. The copy is created readable by its owner
    only, as the log is."""
    if destination.exists():
        raise FileExistsError(f"{destination} exists: a backup never overwrites a file")
    previous = os.umask(0o077)
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(destination)) as dst,
        ):
            total = 0

            def step(_: int, remaining: int, pages: int) -> None:
                nonlocal total
                total = pages
                progress(pages - remaining, pages)

            src.backup(dst, pages=1024, progress=step)
    finally:
        os.umask(previous)
    return total


async def export_log(
    store: EventStore, out: IO[bytes], progress: Callable[[int], None] | None = None
) -> int:
    """Write every event of ``store`` to ``out`` as NDJSON; returns how many."""
    after = 0
    count = 0
    while page := await store.read_all(after=after, limit=EXPORT_PAGE):
        out.write(b"".join(_encode(event) + b"\n" for event in page))
        after = page[-1].position
        count += len(page)
        if progress is not None:
            progress(len(page))
    return count


def checked_events(lines: Iterable[bytes]) -> Iterator[RecordedEvent]:
    """The events of an export, each checked against the chain as it is read;
    ImportRefusedError naming the first line that does not hold."""
    previous = GENESIS_HASH
    expected_position = 1
    versions: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ImportRefusedError(number, "an empty line: an export has one event a line")
        try:
            event = _decode(line)
        except msgspec.DecodeError as error:
            raise ImportRefusedError(number, f"not an exported event: {error}") from None
        if event.position != expected_position:
            raise ImportRefusedError(
                number, f"position {event.position} where {expected_position} comes next"
            )
        if not is_valid_stream_id(event.stream_id):
            raise ImportRefusedError(number, f"{event.stream_id!r} is not a stream id")
        version = versions.get(event.stream_id, 0) + 1
        if event.version != version:
            raise ImportRefusedError(
                number, f"{event.stream_id} version {event.version} where {version} comes next"
            )
        if event_hash(previous, event) != event.hash:
            raise ImportRefusedError(
                number, "the hash does not hold: the event was altered, or one before it"
            )
        versions[event.stream_id] = version
        previous = event.hash
        expected_position += 1
        yield event


async def import_log(
    store: EventStore, events: Iterable[RecordedEvent], progress: Callable[[int], None]
) -> int:
    """Store ``events`` (an export, checked) in ``store`` as they are, through its verbatim
    appends (:func:`incidents.store.plan.verbatim_appends`): a page at a time, each page
    one transaction in which the writer folds the streams' states, tallies and inline
    projections as for any append. Returns how many."""
    count = 0
    page: list[RecordedEvent] = []
    for event in events:
        page.append(event)
        if len(page) == IMPORT_PAGE:
            count += await _import_page(store, page, progress)
    return count + await _import_page(store, page, progress)


async def _import_page(
    store: EventStore, page: list[RecordedEvent], progress: Callable[[int], None]
) -> int:
    if not page:
        return 0
    await store.append_many(verbatim_appends(page))
    done = len(page)
    progress(done)
    page.clear()
    return done
