"""Faults named for what they are, and files only their owner may read."""

from __future__ import annotations

import glob
import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from incidents.core.errors import (
    ConnectionLostError,
    CorruptStoreError,
    ReadOnlyStoreError,
    StorageFullError,
)
from incidents.domain.rules import DomainRules
from incidents.http.app import create_app
from incidents.http.auth import tokens_of
from incidents.http.faults import quick_check
from incidents.projections.inline import inline_projections
from incidents.settings import Settings
from incidents.store.factory import open_store

Client = AsyncTestClient  # type: ignore[type-arg]

NOTE = {
    "events": [
        {
            "type": "NoteSent",
            "data": {"from": {"state": "AZ"}, "to": {"state": "FR"}, "subject": "security"},
        }
    ]
}
SECRET = "/var/lib/secret-host:5432 asyncpg internals"


@pytest.fixture
async def app_and_client(tmp_path: Path) -> AsyncIterator[tuple[Litestar, Client]]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'faults.db'}"))
    async with Client(app=app) as client:
        issued = await tokens_of(app).create("writer", "desk")
        client.headers["Authorization"] = f"Bearer {issued.token}"
        yield app, client


def _failing(error: Exception) -> Any:
    async def append(*_: Any, **__: Any) -> Any:
        raise error

    return append


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (StorageFullError(SECRET), 507, "no room"),
        (ReadOnlyStoreError(SECRET), 503, "only allows reading"),
        (ConnectionLostError(SECRET), 503, "connection to the database was lost"),
        (CorruptStoreError(SECRET), 503, "damaged"),
    ],
)
async def test_each_fault_is_named_and_no_driver_text_leaks(
    app_and_client: tuple[Litestar, Client],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
    words: str,
) -> None:
    app, client = app_and_client
    monkeypatch.setattr(app.state.service.store, "append", _failing(error))
    response = await client.post("/streams/note-az-1/events", json=NOTE)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]
    assert "secret-host" not in response.text and "asyncpg" not in response.text


async def test_after_a_corrupt_file_is_met_every_write_is_refused(
    app_and_client: tuple[Litestar, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = app_and_client
    store = app.state.service.store
    working = store.append
    monkeypatch.setattr(store, "append", _failing(CorruptStoreError("database disk image")))
    assert (await client.post("/streams/note-az-1/events", json=NOTE)).status_code == 503
    # Even with the store answering again, writes stay refused, naming the cause; reads go on.
    monkeypatch.setattr(store, "append", working)
    refused = await client.post("/streams/note-az-2/events", json=NOTE)
    assert refused.status_code == 503 and "damaged" in refused.json()["detail"]
    assert (await client.get("/events")).status_code == 200


async def test_a_file_that_fails_quick_check_at_start_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    store = await open_store(f"sqlite:///{path}", DomainRules(), projections=inline_projections())
    await store.close()
    # Damage the root page of one index: the tables still open, quick_check does not pass.
    with closing(sqlite3.connect(path)) as connection:
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'events_by_type'"
        ).fetchone()
        (page,) = connection.execute("PRAGMA page_size").fetchone()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page
    data[start : start + page] = b"\x0d" + b"\xff" * (page - 1)
    path.write_bytes(bytes(data))
    assert quick_check(str(path)) is not None
    app = create_app(Settings(database_url=f"sqlite:///{path}"))
    async with Client(app=app) as client:
        issued = await tokens_of(app).create("writer", "desk")
        client.headers["Authorization"] = f"Bearer {issued.token}"
        response = await client.post("/streams/note-az-1/events", json=NOTE)
    assert response.status_code == 503, response.text
    assert "damaged" in response.json()["detail"]


async def test_the_log_and_its_wal_are_created_for_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    store = await open_store(f"sqlite:///{path}", DomainRules(), projections=inline_projections())
    try:
        created = sorted(glob.glob(f"{path}*"))
        assert str(path) in created
        for file in created:
            mode = stat.S_IMODE(os.stat(file).st_mode)
            assert mode & 0o077 == 0, (file, oct(mode))
    finally:
        await store.close()


def test_replay_compares_every_stored_byte_with_its_hash(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from incidents.cli import main

    url = f"sqlite:///{tmp_path / 'altered.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["seed", "--database", url]).exit_code == 0
    # one byte of one stored event altered behind the store's back
    with closing(sqlite3.connect(tmp_path / "altered.db")) as connection:
        (data,) = connection.execute("SELECT data FROM events WHERE position = 1").fetchone()
        altered = bytes(data).replace(b"Paris", b"Pariz", 1)
        assert altered != bytes(data)
        connection.execute("UPDATE events SET data = ? WHERE position = 1", (altered,))
        connection.commit()
    replayed = runner.invoke(main, ["replay", "--database", url])
    assert replayed.exit_code == 1
    assert "chain broken at position 1" in replayed.stdout
    assert "no difference" not in replayed.stdout
