"""Seeding dates every event from the texts: two fresh logs hold the same ``occurred_at``s,
and none of them is the time the seeds were loaded."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from incidents.cli import main
from incidents.seeding import seed_files

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _seed_events() -> int:
    return sum(
        len(append["events"])
        for path in seed_files(SEEDS)
        for append in json.loads(path.read_text(encoding="utf-8"))["appends"]
    )


def _seed(database: Path) -> dict[str, tuple[str, str]]:
    result = CliRunner().invoke(main, ["seed", "--database", str(database)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT event_id, occurred_at, recorded_at FROM events")
        return {event_id: (occurred, recorded) for event_id, occurred, recorded in rows}


def test_two_fresh_logs_give_every_seed_event_the_same_occurred_at(tmp_path: Path) -> None:
    # given two fresh databases, seeded one after the other
    first = _seed(tmp_path / "first.db")
    second = _seed(tmp_path / "second.db")
    # then every event has the same occurred_at in both
    assert first.keys() == second.keys() and len(first) == _seed_events()
    assert {k: v[0] for k, v in first.items()} == {k: v[0] for k, v in second.items()}
    # and none was dated by the clock: every occurred_at is long before the load
    loaded = min(datetime.fromisoformat(recorded) for _, recorded in first.values())
    latest = max(datetime.fromisoformat(occurred) for occurred, _ in first.values())
    assert latest < datetime(2025, 1, 1, tzinfo=UTC) < loaded
