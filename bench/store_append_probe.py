"""Probe: single-event appends to the SQLite store against raw sqlite3, measured in one run.

Run from the repository root: ``.venv/bin/python -m bench.store_append_probe``. Each round
measures the baseline (sqlite3 ``executemany`` of 100-event transactions into the store's
own schema, WAL and synchronous=FULL) and then the store (``--writers`` concurrent callers
appending one event each, over and over), alternating so disk noise hits both alike. It
prints events per second and the ratio store/baseline per round, then the median ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from incidents.store.ids import new_event_id
from incidents.store.migrations import apply_migrations
from incidents.store.protocol import ProposedEvent, RecordedEvent, StreamSnapshot
from incidents.store.sqlite import SqliteEventStore

DATA = b'{"mission":"mission-fr-baku","summary":"a note verbale on the embassy fence"}'
TIME = "2026-11-23T10:00:00.000000Z"
INSERT = (
    "INSERT INTO events (position, stream_id, version, event_id, type, category, data,"
    " metadata, occurred_at, recorded_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class CountingRules:
    """The cheapest fold: every stream's state is its event count."""

    def needs_history(self, event_type: str) -> bool:
        return False

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
        history: Sequence[RecordedEvent] | None = None,
    ) -> StreamSnapshot:
        """Count the events."""
        count = (0 if current is None else int(current.state)) + len(events)
        return StreamSnapshot(str(count).encode(), None, True)


def raw_rate(path: Path, seconds: float, streams: int) -> float:
    """Events per second that plain sqlite3 inserts in 100-event transactions."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    apply_migrations(connection)
    position = 0
    versions = [0] * streams
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        rows = []
        for _ in range(100):
            position += 1
            stream = position % streams
            versions[stream] += 1
            rows.append(
                (
                    position,
                    f"note-w{stream}",
                    versions[stream],
                    str(new_event_id()),
                    "NoteSent",
                    "note",
                    DATA,
                    b"{}",
                    TIME,
                    TIME,
                    "0" * 64,
                )
            )
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(INSERT, rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return position / elapsed


async def store_rate(path: Path, seconds: float, writers: int) -> float:
    """Events per second that ``writers`` concurrent single-event appenders get stored."""
    store = await SqliteEventStore.open(str(path), CountingRules())
    stop = time.perf_counter() + seconds
    counts = [0] * writers

    async def appender(index: int) -> None:
        while time.perf_counter() < stop:
            await store.append(f"note-w{index}", [ProposedEvent(new_event_id(), "NoteSent", DATA)])
            counts[index] += 1

    start = time.perf_counter()
    await asyncio.gather(*(appender(i) for i in range(writers)))
    elapsed = time.perf_counter() - start
    await store.close()
    return sum(counts) / elapsed


def main() -> None:
    """Alternate baseline and store rounds and print the rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--directory", default=None, help="where the scratch files go")
    options = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory(dir=options.directory) as scratch:
        for round_ in range(options.rounds):
            raw = raw_rate(Path(scratch, f"raw{round_}.db"), options.seconds, options.writers)
            store = asyncio.run(
                store_rate(Path(scratch, f"store{round_}.db"), options.seconds, options.writers)
            )
            ratios.append(store / raw)
            print(
                f"round {round_ + 1}: raw executemany 100/txn {raw:,.0f} ev/s, "
                f"store {options.writers} appenders {store:,.0f} ev/s, ratio {store / raw:.2f}"
            )
    print(f"median ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
