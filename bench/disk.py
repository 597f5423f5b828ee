"""Disk per event: bytes on disk per event, against the same events as NDJSON.

*Ours*: the SQLite log's database file plus its WAL, after a ``wal_checkpoint(TRUNCATE)``
(what the file keeps, not what a checkpoint has yet to fold in), divided by its events,
once the service's code has opened it (its inline projections' tables included).
*Baseline*: ``incidents export`` of the same log (one envelope a line, data and hash
included), divided by the same count. What takes the room is read from SQLite's ``dbstat``
table: bytes per table and index, and how much of their pages is unused.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from bench.report import Figure, Target


def _wal(database: Path) -> Path:
    return database.with_name(database.name + "-wal")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def room(database: Path) -> list[dict[str, Any]]:
    """Bytes per table and index (``dbstat``), largest first: pages, payload, unused."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT name, sum(pgsize), sum(payload), sum(unused), count(*) FROM dbstat"
            " GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    return [
        {"name": name, "bytes": size, "payload": payload, "unused": unused, "pages": pages}
        for name, size, payload, unused, pages in rows
    ]


def checkpoint(database: Path) -> tuple[int, int]:
    """Fold the WAL into the file and truncate it; the WAL's size before and after."""
    before = _size(_wal(database))
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return before, _size(_wal(database))


def export_bytes(database: Path, out: Path) -> tuple[int, int]:
    """``incidents export`` of the log into ``out``: its bytes and the events in the log."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "incidents.cli",
            "export",
            "--database",
            f"sqlite:///{database.resolve()}",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    try:
        with out.open("rb") as lines:
            events = sum(1 for _ in lines)
        return out.stat().st_size, events
    finally:
        out.unlink(missing_ok=True)


def figure_disk(scratch: Path, log: Path) -> Figure:
    """The disk figure on the log at ``log`` (a served and generated SQLite file)."""
    # The export opens the log as the service does, so the file has every table the
    # service keeps (an inline projection's migrations fill its tables when it opens).
    ndjson, events = export_bytes(log, scratch / "disk-export.ndjson")
    wal_before, wal_after = checkpoint(log)
    on_disk = _size(log) + wal_after
    parts = room(log)
    total = sum(part["bytes"] for part in parts) or 1
    with closing(sqlite3.connect(f"file:{log}?mode=ro", uri=True)) as connection:
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
        (free_pages,) = connection.execute("PRAGMA freelist_count").fetchone()
        streams, state_bytes = connection.execute(
            "SELECT count(*), coalesce(sum(length(state)), 0) FROM streams"
        ).fetchone()
    largest = ", ".join(
        f"{part['name']} {part['bytes'] / 1e6:,.1f} MB ({100 * part['bytes'] / total:.0f} %, "
        f"{100 * part['unused'] / max(1, part['bytes']):.0f} % of it unused)"
        for part in parts[:6]
    )
    notes = [
        f"{events:,} events; the file {_size(log) / 1e6:,.1f} MB, its WAL "
        f"{wal_before / 1e6:,.1f} MB before the checkpoint and {wal_after / 1e6:,.1f} MB "
        f"after; the export {ndjson / 1e6:,.1f} MB",
        f"what takes the room (dbstat, {page_size}-byte pages, {free_pages} free): {largest}",
        f"the {streams:,} stream states hold {state_bytes / 1e6:,.1f} MB as stored "
        f"({state_bytes / max(1, streams):,.0f} bytes a stream, "
        f"{state_bytes / max(1, events):,.0f} an event)",
    ]
    return Figure(
        key="disk",
        title="Bytes on disk per event: database + WAL after a checkpoint",
        unit="bytes/event",
        ours=on_disk / max(1, events),
        ours_label="the SQLite log: events, stream states, indexes, inline projections",
        baseline=ndjson / max(1, events),
        baseline_label="the same events as NDJSON (incidents export)",
        ratio=on_disk / max(1, ndjson),
        targets=[Target("<=", 2.0)],
        notes=notes,
        details={
            "events": events,
            "database_bytes": _size(log),
            "wal_bytes_before_checkpoint": wal_before,
            "wal_bytes_after_checkpoint": wal_after,
            "export_bytes": ndjson,
            "page_size": page_size,
            "free_pages": free_pages,
            "room": parts,
        },
    )
