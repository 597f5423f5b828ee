"""Probe: what figure 1's store writes per transaction, and how fast SQLite alone writes it.

``python -m bench.probes.write_set [seconds] [rounds]`` runs the store as figure 1 does (64
single-event appenders, realistic cases, DomainRules), records every statement its writer
runs between ``BEGIN IMMEDIATE`` and ``COMMIT`` with their parameters, then replays the same
transactions with plain sqlite3 into a fresh file of the same schema: the floor of the
store's write set, with no Python work around it (no rules, no hashing, no event loop).
Each round also measures figure 1's baseline (events only, 100 per transaction), and counts
WAL frames (pages written) per transaction for all three, with the B-tree each page
belongs to (SQLite's ``dbstat``). The rounds alternate, as in ``make bench``.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.append import raw_rate, store_rate, template_cases
from incidents.store import sqlite as store_sqlite
from incidents.store.migrations import apply_migrations

_FRAME = 24 + 4096


class _Recording:
    """Stands in for the writer's connection and keeps each transaction's statements."""

    def __init__(self, connection: sqlite3.Connection, into: list[list[tuple[str, Any]]]) -> None:
        self._connection = connection
        self._into = into
        self._open: list[tuple[str, Any]] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        if sql.startswith("BEGIN"):
            self._open = []
        elif sql == "COMMIT" and self._open is not None:
            self._into.append(self._open)
            self._open = None
        elif self._open is not None and not sql.startswith(("SELECT", "PRAGMA")):
            self._open.append((sql, parameters))
        return self._connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Any) -> Any:
        rows = list(rows)
        if self._open is not None:
            self._open.append((sql, rows))
        return self._connection.executemany(sql, rows)


def _record(path: Path, seconds: float) -> tuple[float, list[list[tuple[str, Any]]]]:
    """Figure 1's store run, its rate and the statements of every committed transaction."""
    transactions: list[list[tuple[str, Any]]] = []
    connect = store_sqlite._Writer.connect.__func__  # type: ignore[attr-defined]

    def recording_connect(cls: Any, *args: Any) -> Any:
        writer = connect(cls, *args)
        writer._connection = _Recording(writer._connection, transactions)
        return writer

    store_sqlite._Writer.connect = classmethod(recording_connect)  # type: ignore[method-assign,assignment]
    try:
        run = asyncio.run(store_rate(path, template_cases(), 64, seconds))
    finally:
        store_sqlite._Writer.connect = classmethod(connect)  # type: ignore[method-assign,assignment]
    return run.rate, transactions


def _replay(path: Path, transactions: list[list[tuple[str, Any]]]) -> float:
    """Events per second plain sqlite3 writes the recorded transactions at."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA wal_autocheckpoint = 4000")  # as the store's writer
    apply_migrations(connection)
    events = 0
    started = time.perf_counter()
    for statements in transactions:
        connection.execute("BEGIN IMMEDIATE")
        for sql, parameters in statements:
            if isinstance(parameters, list):
                connection.executemany(sql, parameters)
                if sql.startswith("INSERT INTO events"):
                    events += len(parameters)
            else:
                connection.execute(sql, parameters)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return events / elapsed


def _pages(path: Path, transactions: list[list[tuple[str, Any]]]) -> dict[str, float]:
    """WAL frames per transaction of the recorded write set, by B-tree (no checkpoints)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    apply_migrations(connection)
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    for statements in transactions:
        connection.execute("BEGIN IMMEDIATE")
        for sql, parameters in statements:
            if isinstance(parameters, list):
                connection.executemany(sql, parameters)
            else:
                connection.execute(sql, parameters)
        connection.execute("COMMIT")
    owner = dict(connection.execute("SELECT pageno, name FROM dbstat"))
    wal = Path(f"{path}-wal").read_bytes()
    counts: collections.Counter[str] = collections.Counter()
    for offset in range(32, len(wal) - _FRAME + 1, _FRAME):
        (page,) = struct.unpack(">I", wal[offset : offset + 4])
        counts[owner.get(page, "(freed)")] += 1
    connection.close()
    return {name: n / len(transactions) for name, n in counts.most_common()}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rows: list[tuple[float, float, float, float]] = []
    with tempfile.TemporaryDirectory(dir="bench/out" if Path("bench/out").is_dir() else None) as d:
        scratch = Path(d)
        pages: dict[str, float] = {}
        for round_ in range(rounds):
            raw = raw_rate(scratch / f"raw-{round_}.db", template_cases(), 100, seconds)
            store, transactions = _record(scratch / f"store-{round_}.db", seconds)
            floor = _replay(scratch / f"replay-{round_}.db", transactions)
            batch = statistics.mean(
                len(p) for t in transactions for s, p in t if s.startswith("INSERT INTO events")
            )
            rows.append((raw, store, floor, batch))
            print(
                f"round {round_ + 1}: raw {raw:,.0f} ev/s; store {store:,.0f} ev/s "
                f"({store / raw:.2f}); its write set alone {floor:,.0f} ev/s ({floor / raw:.2f}); "
                f"{batch:.1f} events a transaction",
                flush=True,
            )
            if round_ == 0:
                pages = _pages(scratch / "pages.db", transactions)
    print(
        f"median ratios: store {statistics.median(s / r for r, s, _, _ in rows):.3f}, "
        f"write set alone {statistics.median(f / r for r, _, f, _ in rows):.3f}"
    )
    print(f"pages written per transaction (round 1): {sum(pages.values()):.0f}")
    for name, count in pages.items():
        print(f"  {name:32s} {count:6.1f}")


if __name__ == "__main__":
    main()
