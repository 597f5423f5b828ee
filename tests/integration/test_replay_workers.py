"""Replay of a SQLite store, which reads its file itself, in one process or split over
workers by stream id range, reports what the port's paged reads report and repairs to the
same bytes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.replay import ReplayReport, replay
from incidents.seeding import load_seeds
from incidents.settings import Settings
from incidents.store.protocol import RuleViolation
from incidents.store.sqlite import SqliteEventStore
from tests.store_rules import PagedReads

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture
async def seeded(tmp_path: Path) -> Path:
    database = tmp_path / "log.db"
    created, _ = await load_seeds(Settings(database_url=f"sqlite:///{database}"), SEEDS)
    assert created > 0
    return database


def _tamper(database: Path, lose_a_row: bool = True) -> None:
    """Change the live rows behind the log's back, each kind of difference at least once."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        ids = [row[0] for row in connection.execute("SELECT stream_id FROM streams ORDER BY 1")]
        changed, flipped, lost = ids[1], ids[len(ids) // 2], ids[-2]
        connection.execute(
            "UPDATE streams SET state = CAST('{}' AS BLOB) WHERE stream_id = ?", (changed,)
        )
        connection.execute(
            "UPDATE streams SET is_open = 1 - is_open WHERE stream_id = ?", (flipped,)
        )
        if lose_a_row:  # (a repair refuses a stream without its row: the store's rule)
            connection.execute("DELETE FROM streams WHERE stream_id = ?", (lost,))
        for ghost in ("aaa-ghost", f"{flipped}-ghost", "zzz-ghost"):
            connection.execute(
                "INSERT INTO streams (stream_id, category, version, state, mission, is_open,"
                " last_position, updated_at) SELECT ?, category, version, state, mission,"
                " is_open, last_position, updated_at FROM streams WHERE stream_id = ?",
                (ghost, changed),
            )
    finally:
        connection.close()


async def _replay(database: Path, repair: bool = False, workers: int | None = None) -> ReplayReport:
    """Replay the file; with ``workers`` None through the port's paged reads, else by the
    store's own path (the file read in ranges over that many processes)."""
    store = await SqliteEventStore.open(
        str(database), DomainRules(), projections=inline_projections()
    )
    try:
        if workers is None:
            return await replay(PagedReads(store), DomainRules(), repair)
        return await replay(store, DomainRules(), repair, workers=workers)
    finally:
        await store.close()


def _streams(database: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(
            "SELECT stream_id, state, mission, is_open FROM streams ORDER BY stream_id"
        ).fetchall()
    finally:
        connection.close()


async def test_workers_report_the_differences_of_the_read_path_in_the_same_order(
    seeded: Path,
) -> None:
    # given a seeded log whose live rows were tampered with
    _tamper(seeded)

    # when it is replayed through the store, and from the file in one and in several workers
    through_store = await _replay(seeded)
    single = await _replay(seeded, workers=1)
    parallel = [await _replay(seeded, workers=n) for n in (2, 3)]

    # then every replay reports the same differences, in the same order
    assert len(through_store.differences) == 6
    for report in (single, *parallel):
        assert report == through_store


async def test_a_repair_by_workers_writes_the_bytes_the_read_path_writes(
    seeded: Path, tmp_path: Path
) -> None:
    # given two copies of one tampered log
    _tamper(seeded, lose_a_row=False)
    copy = tmp_path / "copy.db"
    shutil.copy(seeded, copy)

    # when one is repaired through the store and the other by two workers
    by_store = await _replay(seeded, repair=True)
    by_workers = await _replay(copy, repair=True, workers=2)

    # then both repaired the same streams to the same rows, and nothing differs after
    assert by_store == by_workers and by_store.repaired
    assert _streams(seeded) == _streams(copy)
    assert (await _replay(copy, workers=2)).differences == [
        difference
        for difference in by_store.differences
        if difference.reason == "no events in the log"
    ]


async def test_a_worker_raises_the_rule_violation_the_read_path_raises(seeded: Path) -> None:
    # given a logged event whose data no longer decodes as its type
    connection = sqlite3.connect(seeded, isolation_level=None)
    try:
        connection.execute(
            "UPDATE events SET data = CAST('{\"nonsense\":1}' AS BLOB)"
            " WHERE position = (SELECT max(position) FROM events)"
        )
    finally:
        connection.close()

    # when it is replayed, then each path raises the same violation
    with pytest.raises(RuleViolation) as through_store:
        await _replay(seeded)
    for workers in (1, 2):
        with pytest.raises(RuleViolation) as from_file:
            await _replay(seeded, workers=workers)
        assert str(from_file.value) == str(through_store.value)
