"""Copies of a log: export -> import across engines keeps the head hash; an altered export
is refused naming its line; an import killed midway leaves nothing or a chain that holds; a
backup taken while 64 writers append verifies."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from click.testing import CliRunner, Result

from incidents.cli import main
from tests.e2e.conftest import ServedProcess, note_sent

pytestmark = pytest.mark.e2e

POSTGRES_URL = os.environ.get(
    "INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments))


def seeded(path: Path) -> str:
    url = f"sqlite:///{path}"
    assert cli("seed", "--database", url).exit_code == 0
    return url


def head_hash(url: str) -> str:
    verified = cli("verify", "--database", url)
    assert verified.exit_code == 0, verified.output
    return verified.stdout.split("head hash ")[1].strip()


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def test_sqlite_to_postgres_to_sqlite_keeps_the_head_hash(tmp_path: Path) -> None:
    if not postgres_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    source = seeded(tmp_path / "source.db")
    first = tmp_path / "first.ndjson"
    assert cli("export", "--database", source, "--out", str(first)).exit_code == 0
    lines = first.read_bytes().splitlines()
    # As many lines as the source holds events ("ok: <count> events, head hash ...").
    count = int(cli("verify", "--database", source).stdout.split()[1])
    assert len(lines) == count > 0 and all("hash" in json.loads(line) for line in lines)

    schema = f"test_copies_{uuid.uuid4().hex[:12]}"
    postgres = f"{POSTGRES_URL}?schema={schema}"
    try:
        imported = cli("import", "--database", postgres, str(first))
        assert imported.exit_code == 0, imported.output
        assert head_hash(postgres) == head_hash(source)
        assert cli("replay", "--database", postgres).exit_code == 0
        second = tmp_path / "second.ndjson"
        assert cli("export", "--database", postgres, "--out", str(second)).exit_code == 0
    finally:
        asyncio.run(drop_schema(schema))
    back = f"sqlite:///{tmp_path / 'back.db'}"
    again = cli("import", "--database", back, str(second))
    assert again.exit_code == 0, again.output
    assert head_hash(back) == head_hash(source)
    assert second.read_bytes() == first.read_bytes()
    replayed = cli("replay", "--database", back)
    assert replayed.exit_code == 0 and "no difference" in replayed.stdout


def test_an_altered_export_is_refused_naming_its_line(tmp_path: Path) -> None:
    source = seeded(tmp_path / "source.db")
    export = tmp_path / "log.ndjson"
    assert cli("export", "--database", source, "--out", str(export)).exit_code == 0
    lines = export.read_bytes().splitlines()
    # one byte of one event changed, on line 20: a digit of the time it was recorded
    lines[19] = lines[19].replace(b'"recorded_at":"20', b'"recorded_at":"19', 1)
    assert lines[19] != export.read_bytes().splitlines()[19]
    altered = tmp_path / "altered.ndjson"
    altered.write_bytes(b"\n".join(lines) + b"\n")
    target = tmp_path / "target.db"
    refused = cli("import", "--database", f"sqlite:///{target}", str(altered))
    assert refused.exit_code != 0
    assert "line 20" in refused.output and len(refused.output.strip().splitlines()) <= 2
    # and nothing was kept
    assert head_hash(f"sqlite:///{target}") == "0" * 64
    # a line left out breaks the chain at the line after the gap
    gapped = tmp_path / "gapped.ndjson"
    gapped.write_bytes(b"\n".join(lines[:5] + lines[6:]) + b"\n")
    refused = cli("import", "--database", f"sqlite:///{tmp_path / 'gap.db'}", str(gapped))
    assert refused.exit_code != 0 and "line 6" in refused.output
    # and an import into a log that is not empty is refused
    full = cli("import", "--database", source, str(export))
    assert full.exit_code != 0 and "not empty" in full.output


def test_an_import_killed_midway_leaves_nothing_or_a_chain_that_holds(tmp_path: Path) -> None:
    # Given an export of a few thousand events
    source = seeded(tmp_path / "source.db")
    export = tmp_path / "log.ndjson"
    assert cli("export", "--database", source, "--out", str(export)).exit_code == 0
    lines = export.read_bytes().splitlines()
    with ServedProcess(tmp_path / "bulk.db").running() as server:
        asyncio.run(append_notes(server, 3000))
        bulk = tmp_path / "bulk.ndjson"
        assert cli("export", "--database", server.url, "--out", str(bulk)).exit_code == 0
    assert len(bulk.read_bytes().splitlines()) > len(lines)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))

    def importing(target: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "incidents.cli", "import", "--database", str(target), str(bulk)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    # How long a whole import takes here, so that the kills fall within one.
    started = time.monotonic()
    assert importing(tmp_path / "whole.db").wait() == 0
    whole = time.monotonic() - started
    outcomes = []
    for round_ in range(5):
        # when an import is killed with SIGKILL at a random moment of it
        target = tmp_path / f"killed-{round_}.db"
        process = importing(target)
        try:
            process.wait(timeout=rng.uniform(0.3, 0.95) * whole)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # then the log holds nothing, or a chain that verifies, its streams folded from it
        if target.exists():
            verified = cli("verify", "--database", str(target))
            assert verified.exit_code == 0, verified.output
            replayed = cli("replay", "--database", str(target))
            assert replayed.exit_code == 0, replayed.output
            outcomes.append(verified.stdout.split()[1])
        else:
            outcomes.append("0")
    print("events kept after each killed import:", outcomes)


async def append_notes(server: ServedProcess, count: int, writers: int = 8) -> None:
    """``count`` NoteSent events, each to a fresh stream, from ``writers`` clients."""
    numbers = iter(range(count))

    async def writer() -> None:
        async with httpx.AsyncClient(
            base_url=server.base, headers=server.headers, timeout=60
        ) as client:
            for number in numbers:
                response = await client.post(f"/streams/note-bulk-{number}/events", json=NOTE)
                assert response.status_code in (201, 503), response.text

    await asyncio.gather(*(writer() for _ in range(writers)))


NOTE = note_sent()


def test_a_backup_taken_under_64_writers_verifies(tmp_path: Path) -> None:
    with ServedProcess(tmp_path / "busy.db").running() as server:

        async def load_and_back_up() -> Result:
            writing = asyncio.create_task(append_notes(server, 2000, writers=64))
            # Back up once appends are flowing (waiting on the head, a failsafe bound only).
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                for _ in range(600):
                    if (await client.get("/health")).json()["head_position"] >= 200:
                        break
                    await asyncio.sleep(0.1)
            backed_up = await asyncio.to_thread(
                cli, "backup", "--database", server.url, str(tmp_path / "copy.db")
            )
            await writing
            return backed_up

        backed_up = asyncio.run(load_and_back_up())
    assert backed_up.exit_code == 0, backed_up.output
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    verified = cli("verify", "--database", copy)
    assert verified.exit_code == 0, verified.output
    assert int(verified.stdout.split()[1]) > 0
    assert (tmp_path / "copy.db").stat().st_mode & 0o077 == 0
    replayed = cli("replay", "--database", copy)
    assert replayed.exit_code == 0, replayed.output
