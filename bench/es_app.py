"""The eventsourcing library's side of the comparisons: its SQLite application and aggregates.

The library (``pip install eventsourcing``) is the reference Python event-sourcing
framework. Its SQLite persistence is selected with ``PERSISTENCE_MODULE=eventsourcing.sqlite``
and ``SQLITE_DBNAME``; it opens the file in WAL mode and leaves ``synchronous`` at SQLite's
default, FULL (checked by :func:`synchronous_setting`), so each ``save`` is one durable
transaction. Its writes are serialised by the connection pool's writer lock; it has no group
commit. Aggregates carry the same event bodies as the log (the canonical JSON decoded into
dicts), which the library stores as JSON.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Stream(Aggregate):
    """Any stream of the log as one aggregate: opened by its first event, then recorded."""

    @event("Opened")
    def __init__(self, type: str, data: dict[str, Any]) -> None:
        self.last_type = type
        self.count = 1

    @event("Recorded")
    def record(self, type: str, data: dict[str, Any]) -> None:
        """Record one more event of the stream."""
        self.last_type = type
        self.count += 1


class Note(Aggregate):
    """A diplomatic note: sent, acknowledged, answered."""

    @event("Sent")
    def __init__(self, data: dict[str, Any]) -> None:
        self.status = "sent"

    @event("Acknowledged")
    def acknowledge(self, data: dict[str, Any]) -> None:
        """The receipt was acknowledged."""
        self.status = "acknowledged"

    @event("ReplyReceived")
    def reply(self, data: dict[str, Any]) -> None:
        """The note was answered."""
        self.status = "answered"


class Protest(Aggregate):
    """A protest and its demands, answered one by one, then closed."""

    @event("Lodged")
    def __init__(self, demands: list[str], data: dict[str, Any]) -> None:
        self.open_demands = list(demands)
        self.closed = False

    @event("DemandAnswered")
    def answer(self, demand: str, outcome: str, data: dict[str, Any]) -> None:
        """One demand was answered."""
        self.open_demands.remove(demand)

    @event("Closed")
    def close(self, data: dict[str, Any]) -> None:
        """The protest was closed."""
        self.closed = True


class Log(Application[UUID]):
    """The application whose repository loads and saves the aggregates above."""


def open_application(path: Path) -> Log:
    """The application on a fresh SQLite file at ``path`` (WAL, synchronous FULL)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Log(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": os.fspath(path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    )


def synchronous_setting(app: Log) -> str:
    """``journal_mode/synchronous`` of one of the application's connections, e.g. ``wal/2``."""
    pool = app.factory.datastore.pool  # type: ignore[attr-defined]
    connection = pool.get_connection()
    try:
        raw = connection._sqlite_conn
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
        level = raw.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        pool.put_connection(connection)
    return f"{mode}/{level}"


def library_version() -> str:
    """The installed eventsourcing version."""
    from importlib.metadata import version

    return version("eventsourcing")


def run_threads(target: Callable[[int], None], count: int) -> float:
    """Run ``target(i)`` on ``count`` threads at once; the wall seconds until all are done."""
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started
