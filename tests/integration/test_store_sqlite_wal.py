"""The SQLite store's WAL stays under its stated bound under sustained appends.

The bound (docs/architecture.md, "The WAL stays bounded"): the WAL file is at most the
store's ``wal_limit`` plus what one batch writes, while readers read all the time.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path

from incidents.store.protocol import AppendRequest
from incidents.store.sqlite import SqliteEventStore
from tests.conftest import FAILSAFE_SECONDS
from tests.store_rules import TallyRules, proposed

LIMIT = 1024 * 1024
# Batches of twenty 1 KB events to fresh streams: each writes 70-260 KB of WAL, so these
# fill the limit dozens of times over.
BATCHES = 300
BODY = b'{"text":"' + b"x" * 1000 + b'"}'


def wal_bytes(wal: Path) -> int:
    """The WAL file's size (0 before it exists)."""
    return wal.stat().st_size if wal.exists() else 0


class BusyReaders:
    """Threads that read the log one short read transaction after another, as a served
    process's readers do under load: between them, some snapshot is open most of the time."""

    def __init__(self, path: Path, count: int = 3) -> None:
        self._path = path
        self._stop = threading.Event()
        self.reads = 0
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def __enter__(self) -> BusyReaders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(FAILSAFE_SECONDS)

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None)
        try:
            while not self._stop.is_set():
                connection.execute("BEGIN")
                connection.execute(
                    "SELECT position, data FROM events ORDER BY position DESC LIMIT 20"
                ).fetchall()
                connection.execute("COMMIT")
                self.reads += 1
                # A moment between reads, as requests have: a reader that never pauses can
                # keep even a TRUNCATE checkpoint from its turn (docs/architecture.md).
                self._stop.wait(0.001)
        except BaseException as error:
            self.errors.append(error)
        finally:
            connection.close()


async def test_the_wal_stays_under_its_limit_under_sustained_appends_and_reads(
    tmp_path: Path,
) -> None:
    # given a store with a 1 MiB WAL limit, and readers reading all the time
    path = tmp_path / "log.db"
    wal = Path(f"{path}-wal")
    store = await SqliteEventStore.open(str(path), TallyRules(), wal_limit=LIMIT)  # type: ignore[arg-type]
    sizes: list[int] = []
    growths: list[int] = []
    try:
        with BusyReaders(path) as readers:
            # when batches of twenty 1 KB events are appended, one after the other
            for batch in range(BATCHES):
                before = wal_bytes(wal)
                await store.append_many(
                    [AppendRequest(f"note-{batch}-{i}", [proposed(data=BODY)]) for i in range(20)]
                )
                sizes.append(wal_bytes(wal))
                growths.append(max(0, sizes[-1] - before))
        assert readers.errors == [] and readers.reads > 0
        assert max(growths) < LIMIT / 2

        # then the WAL was never more than the limit and one batch
        assert max(sizes) <= LIMIT + max(growths)
        # and after each batch that left it over the limit, it had started over
        over = [(a, b) for a, b in itertools.pairwise(sizes) if a > LIMIT]
        assert len(over) >= 10
        assert all(b < a for a, b in over)
        assert (await store.head()).position == 20 * BATCHES
    finally:
        await store.close()
