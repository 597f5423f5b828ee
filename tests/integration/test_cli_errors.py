"""How the ``incidents`` command fails: one or two lines, a distinct exit code per kind, no
traceback unless ``--debug``; read-only commands never create a log."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import click
import pytest
from click.testing import CliRunner, Result

from incidents.cli import IncidentsGroup, main
from incidents.exits import ExitCode
from incidents.settings import SettingsError
from tests.e2e.conftest import _free_port
from tests.integration.test_store_postgres import URL, server_answers

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def assert_short_failure(result: Result, code: ExitCode, *fragments: str) -> None:
    """The command failed with ``code`` in at most two lines that contain ``fragments``."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("seeded") / "log.db"
    result = run("seed", "--database", str(database))
    assert result.exit_code == 0, result.output
    return database


@pytest.mark.parametrize("command", ["verify", "replay", "seed"])
def test_a_missing_database_directory_is_named(tmp_path: Path, command: str) -> None:
    database = tmp_path / "absent" / "log.db"
    result = run(command, "--database", str(database))
    assert_short_failure(result, ExitCode.NOT_FOUND, f"no directory {tmp_path / 'absent'}")
    assert not (tmp_path / "absent").exists()


def test_an_unknown_url_scheme_names_the_variable_and_the_known_schemes() -> None:
    result = run("verify", "--database", "mysql://localhost/log")
    assert_short_failure(
        result,
        ExitCode.SETTINGS,
        "INCIDENTS_DATABASE_URL='mysql://localhost/log' is not valid",
        "postgresql://",
    )


def test_an_unreachable_postgresql_server_is_named() -> None:
    # Nothing listens on a port just released.
    url = f"postgresql://postgres:secret@127.0.0.1:{_free_port()}/test"
    result = run("seed", "--database", url)
    assert_short_failure(result, ExitCode.UNAVAILABLE, "cannot reach the database at ")
    assert "secret" not in result.output


def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    result = run(
        "seed", "--database", str(tmp_path / "x.db"), env={"INCIDENTS_REPLY_WINDOW_DAYS": "abc"}
    )
    assert_short_failure(result, ExitCode.SETTINGS, "INCIDENTS_REPLY_WINDOW_DAYS='abc'")
    assert not (tmp_path / "x.db").exists()


def test_a_misspelt_setting_is_refused_naming_the_nearest(tmp_path: Path) -> None:
    result = run(
        "seed", "--database", str(tmp_path / "x.db"), env={"INCIDENTS_REPLY_WINDOWS_DAYS": "3"}
    )
    assert_short_failure(result, ExitCode.SETTINGS, "did you mean INCIDENTS_REPLY_WINDOW_DAYS?")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("data = CAST('not json' AS BLOB)", "an event does not decode"),
        ("type = 'NoSuchType'", "an event breaks the domain's rules"),
    ],
)
def test_replay_on_a_log_holding_an_invalid_event(
    seeded_file: Path, tmp_path: Path, change: str, message: str
) -> None:
    database = tmp_path / "log.db"
    shutil.copy(seeded_file, database)
    with sqlite3.connect(database) as connection:
        connection.execute(f"UPDATE events SET {change} WHERE position = 3")
    result = run("replay", "--database", str(database))
    assert result.exit_code == ExitCode.BAD_DATA, result.output
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 2
    assert "incidents verify" in result.stderr


def test_an_unexpected_error_is_one_line_with_its_own_code_and_debug_shows_it(
    seeded_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(store: object) -> object:
        raise RuntimeError("the chain walker broke")

    monkeypatch.setattr("incidents.store.chain.verify_log", broken)
    result = run("verify", "--database", str(seeded_file))
    assert_short_failure(
        result, ExitCode.INTERNAL, "unexpected RuntimeError: the chain walker broke", "--debug"
    )
    debug = run("--debug", "verify", "--database", str(seeded_file))
    assert isinstance(debug.exception, RuntimeError)


def test_a_command_added_later_in_a_subgroup_fails_the_same_way() -> None:
    # Given a group like main with a subgroup, whose command raises a settings error
    @click.group(cls=IncidentsGroup)
    @click.option("--debug", is_flag=True)
    def cli(debug: bool) -> None:
        pass

    @cli.group()
    def tokens() -> None:
        pass

    @tokens.command()
    def issue() -> None:
        raise SettingsError("INCIDENTS_X=1 is not valid: no")

    assert isinstance(tokens, IncidentsGroup)
    result = CliRunner().invoke(cli, ["tokens", "issue"])
    assert_short_failure(result, ExitCode.SETTINGS, "INCIDENTS_X=1 is not valid")


def test_the_real_process_prints_two_lines_and_no_traceback(tmp_path: Path) -> None:
    # The same as CliRunner sees, from the installed entry point in a real process.
    env = {**os.environ, "INCIDENTS_REPLY_WINDOW_DAYS": "abc"}
    done = subprocess.run(
        [sys.executable, "-m", "incidents.cli", "verify", "--database", str(tmp_path / "x.db")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == ExitCode.SETTINGS
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: INCIDENTS_REPLY_WINDOW_DAYS='abc' is not valid: Expected `int`, got `str`",
        "  fix or unset the variable; README lists the settings",
    ]


def test_readme_lists_every_exit_code() -> None:
    readme = (REPO / "README.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in readme, code.name


# --- read-only commands never create a log ---------------------------------------------------


@pytest.mark.parametrize("args", [["verify"], ["replay"], ["export"]])
def test_a_read_only_command_on_a_missing_file_names_it_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    database = tmp_path / "mistyped.db"
    result = run(*args, "--database", str(database))
    assert_short_failure(result, ExitCode.NOT_FOUND, f"no database at {database}")
    assert list(tmp_path.iterdir()) == []


def test_replay_with_repair_may_create_the_file(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    result = run("replay", "--repair", "--database", str(database))
    assert result.exit_code == 0, result.output
    assert database.exists()


def test_verify_on_an_existing_log_still_works(seeded_file: Path) -> None:
    assert run("verify", "--database", str(seeded_file)).exit_code == 0


def test_seed_from_a_directory_without_seed_files_fails_and_creates_nothing(
    tmp_path: Path,
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "notes.txt").write_text("not a seed")
    database = tmp_path / "log.db"
    result = run("seed", "--database", str(database), "--seeds", str(seeds))
    assert_short_failure(result, ExitCode.NOT_FOUND, f"no seed files in {seeds}")
    assert not database.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["verify", "replay", "export"])
def test_a_read_only_command_on_a_postgres_schema_without_a_log_creates_nothing(
    command: str,
) -> None:
    if not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"absent_{uuid.uuid4().hex[:12]}"
    result = run(command, "--database", f"{URL}?schema={schema}")
    assert_short_failure(result, ExitCode.NOT_FOUND, "no log in the database", schema)

    async def schema_exists() -> bool:
        connection = await asyncpg.connect(URL)
        try:
            found = await connection.fetchval(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
            )
        finally:
            await connection.close()
        return bool(found)

    assert not asyncio.run(schema_exists())


def _damaged_copies(seeded: Path, into: Path) -> list[Path]:
    """A file that is not a database at all, and a copy of a log with one page overwritten."""
    garbage = into / "garbage.db"
    garbage.write_bytes(b"not a database " * 1000)
    page = into / "page.db"
    data = bytearray(seeded.read_bytes())
    data[8192 : 8192 + 4096] = bytes(4096)
    page.write_bytes(bytes(data))
    return [garbage, page]


@pytest.mark.parametrize("command", ["verify", "replay"])
def test_a_check_of_a_damaged_file_fails_in_one_line_with_exit_1(
    seeded_file: Path, tmp_path: Path, command: str
) -> None:
    for database in _damaged_copies(seeded_file, tmp_path):
        result = run(command, "--database", str(database))
        assert_short_failure(result, ExitCode.CHECK_FAILED, "is damaged", str(database))
        assert len(result.stderr.splitlines()) == 1, result.stderr


def test_another_command_on_a_damaged_file_names_it_with_exit_6(
    seeded_file: Path, tmp_path: Path
) -> None:
    for database in _damaged_copies(seeded_file, tmp_path):
        result = run("export", "--database", str(database), "--out", str(tmp_path / "out"))
        assert_short_failure(result, ExitCode.BAD_DATA, "is damaged", str(database))
