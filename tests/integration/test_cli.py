"""The command line: seed, verify, replay, export-schemas, on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import jsonschema
import msgspec
import pytest
from click.testing import CliRunner

from incidents.cli import main
from incidents.schemas import render, schema_documents
from incidents.seeding import seed_files
from tests.integration.test_store_postgres import URL, server_answers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A SQLite log with the seed events loaded through ``incidents seed``."""
    database = tmp_path / "log.db"
    result = CliRunner().invoke(main, ["seed", "--database", str(database)])
    assert result.exit_code == 0, result.output
    assert "events stored" in result.output
    return database


def _count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM events").fetchone()
        return int(count)


def test_seed_twice_stores_nothing_new(seeded: Path) -> None:
    before = _count(seeded)
    result = CliRunner().invoke(main, ["seed", "--database", str(seeded)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("seeded: 0 events stored")
    assert _count(seeded) == before > 0


def test_verify_passes_on_an_untouched_log(seeded: Path) -> None:
    result = CliRunner().invoke(main, ["verify", "--database", str(seeded)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok: {_count(seeded)} events, head hash ")


def test_verify_names_the_position_whose_data_was_changed(seeded: Path) -> None:
    # Given a log where someone edited one row's data behind the service's back
    with sqlite3.connect(seeded) as connection:
        connection.execute(
            "UPDATE events SET data = replace(CAST(data AS TEXT), 'Paris', 'Lyon') "
            "WHERE position = (SELECT min(position) FROM events "
            "WHERE CAST(data AS TEXT) LIKE '%Paris%')"
        )
        (position,) = connection.execute(
            "SELECT min(position) FROM events WHERE CAST(data AS TEXT) LIKE '%Lyon%'"
        ).fetchone()
    # When the chain is verified, then it names that position and exits 1
    result = CliRunner().invoke(main, ["verify", "--database", str(seeded)])
    assert result.exit_code == 1, result.output
    assert f"chain broken at position {position}:" in result.output


def test_replay_finds_no_difference_then_finds_and_repairs_a_tampered_state(seeded: Path) -> None:
    runner = CliRunner()
    clean = runner.invoke(main, ["replay", "--database", str(seeded)])
    assert clean.exit_code == 0, clean.output
    assert "no difference" in clean.output

    with sqlite3.connect(seeded) as connection:
        (stream_id,) = connection.execute(
            "SELECT stream_id FROM streams WHERE category = 'protest' LIMIT 1"
        ).fetchone()
        connection.execute("UPDATE streams SET is_open = 0 WHERE stream_id = ?", (stream_id,))
    found = runner.invoke(main, ["replay", "--database", str(seeded)])
    assert found.exit_code == 1
    assert f"differs: {stream_id}" in found.output

    repaired = runner.invoke(main, ["replay", "--database", str(seeded), "--repair"])
    assert repaired.exit_code == 0, repaired.output
    again = runner.invoke(main, ["replay", "--database", str(seeded)])
    assert again.exit_code == 0, again.output
    assert "no difference" in again.output


def test_a_repair_indexes_the_versions_in_time_afresh(seeded: Path) -> None:
    # given a seeded file with a state changed and, behind it, one of the stream's past
    # versions in the in_time index summarised wrongly (as a wrong fold would have)
    runner = CliRunner()
    with sqlite3.connect(seeded) as connection:
        stream_id, version, mission = connection.execute(
            "SELECT stream_id, version, mission FROM in_time_versions WHERE version = 1"
            " AND mission IS NOT NULL AND stream_id IN (SELECT stream_id FROM streams"
            " WHERE version > 1 AND category = 'incident') ORDER BY stream_id LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE in_time_versions SET mission = 'mission-elsewhere'"
            " WHERE stream_id = ? AND version = ?",
            (stream_id, version),
        )
        connection.execute(
            "UPDATE streams SET is_open = 1 - is_open WHERE stream_id = ?", (stream_id,)
        )

    # when replay repairs it
    repaired = runner.invoke(main, ["replay", "--database", str(seeded), "--repair"])
    assert repaired.exit_code == 0, repaired.output

    # then the past version is indexed as its events say again
    with sqlite3.connect(seeded) as connection:
        (found,) = connection.execute(
            "SELECT mission FROM in_time_versions WHERE stream_id = ? AND version = ?",
            (stream_id, version),
        ).fetchone()
    assert found == mission


def test_replay_repairs_mission_tallies_tampered_with_on_their_own(seeded: Path) -> None:
    # given a seeded file whose tallies no longer match its streams (these stay right)
    runner = CliRunner()
    with sqlite3.connect(seeded) as connection:
        before = connection.execute(
            "SELECT mission, label, count FROM missions_counts ORDER BY mission, label"
        ).fetchall()
        latest = connection.execute("SELECT * FROM missions_latest ORDER BY mission").fetchall()
        assert before and latest
        connection.execute("UPDATE missions_counts SET count = count + 7")
        connection.execute(
            "DELETE FROM missions_latest WHERE rowid = (SELECT min(rowid) FROM missions_latest)"
        )

    # when replay runs, then it finds the missions' tallies differ, and names no stream
    found = runner.invoke(main, ["replay", "--database", str(seeded)])
    assert found.exit_code == 1, found.output
    assert "mission tallies differ" in found.output

    # when it repairs, then the tallies and latest are what they were, and nothing differs
    repaired = runner.invoke(main, ["replay", "--database", str(seeded), "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "recounted every mission's tallies" in repaired.output
    with sqlite3.connect(seeded) as connection:
        assert (
            connection.execute(
                "SELECT mission, label, count FROM missions_counts ORDER BY mission, label"
            ).fetchall()
            == before
        )
        assert connection.execute("SELECT * FROM missions_latest ORDER BY mission").fetchall() == (
            latest
        )
    again = runner.invoke(main, ["replay", "--database", str(seeded)])
    assert again.exit_code == 0, again.output


def test_schemas_directory_is_what_the_structs_generate() -> None:
    # A stale file here means: run `make schemas` and commit the result.
    documents = schema_documents()
    on_disk = {
        str(path.relative_to(REPO / "schemas")): path.read_bytes()
        for path in (REPO / "schemas").glob("*/*.json")
    }
    assert set(on_disk) == set(documents)
    for name, document in documents.items():
        assert on_disk[name] == render(document), f"schemas/{name} is stale"


def test_export_schemas_writes_one_file_per_type_and_body(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export-schemas", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "events" / "NoteSent.json").exists()
    assert (tmp_path / "requests" / "AppendBody.json").exists()


def test_every_seed_event_matches_its_exported_schema() -> None:
    # The exported schemas describe data as clients send it, so real events must pass them.
    for path in seed_files(REPO / "seeds"):
        for append in msgspec.json.decode(path.read_bytes())["appends"]:
            for event in append["events"]:
                schema = msgspec.json.decode(
                    (REPO / "schemas/events" / f"{event['type']}.json").read_bytes()
                )
                jsonschema.validate(event["data"], schema)
            jsonschema.validate(
                {"events": append["events"]},
                msgspec.json.decode((REPO / "schemas/requests/AppendBody.json").read_bytes()),
            )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database on the local server, dropped afterwards."""
    if not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    name = f"incidents_cli_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_seed_verify_and_replay_on_postgresql(postgres_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["seed", "--database", postgres_url])
    assert first.exit_code == 0, first.output
    stored = int(first.output.split()[1])
    assert stored > 0
    again = runner.invoke(main, ["seed", "--database", postgres_url])
    assert again.output.startswith(f"seeded: 0 events stored, {stored} already in the log")
    verified = runner.invoke(main, ["verify", "--database", postgres_url])
    assert verified.exit_code == 0 and verified.output.startswith(f"ok: {stored} events")
    replayed = runner.invoke(main, ["replay", "--database", postgres_url])
    assert replayed.exit_code == 0 and "no difference" in replayed.output


def test_replay_reports_mission_tallies_that_drifted_from_the_log(seeded: Path) -> None:
    # Given a missions summary count changed behind the service's back
    with sqlite3.connect(seeded) as connection:
        (mission, label) = connection.execute(
            "SELECT mission, label FROM missions_counts ORDER BY mission, label LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE missions_counts SET count = count + 1 WHERE mission = ? AND label = ?",
            (mission, label),
        )
    # When the log is replayed, then that mission is named and the exit code is 1
    result = CliRunner().invoke(main, ["replay", "--database", str(seeded), "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert f"differs: {mission}: mission tallies differ" in result.output


def test_a_file_indexed_before_the_dates_rule_bends_its_loosely_dated_streams(
    seeded: Path,
) -> None:
    # given a seeded file whose in_time index is as the code before migration 5 left it:
    # no stream bent by an event of unknown precision
    with sqlite3.connect(seeded) as connection:
        connection.execute("DELETE FROM in_time_bent")
        connection.execute(
            "DELETE FROM projection_versions WHERE projection = 'in_time' AND version = 5"
        )
    # when the file is opened again (verify opens it with the inline projections)
    result = CliRunner().invoke(main, ["verify", "--database", str(seeded)])
    assert result.exit_code == 0, result.output
    # then the migration rebuilt the index: the Paris mission, whose head's appointment is
    # bounded only by a later day, is folded at a moment rather than read from its rows
    with sqlite3.connect(seeded) as connection:
        bent = {row[0] for row in connection.execute("SELECT stream_id FROM in_time_bent")}
        (version,) = connection.execute(
            "SELECT max(version) FROM projection_versions WHERE projection = 'in_time'"
        ).fetchone()
    assert "mission-az-paris" in bent and version == 5
