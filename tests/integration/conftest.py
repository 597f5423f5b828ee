"""An app on a fresh log, driven in process by Litestar's AsyncTestClient: on a SQLite
file, or on PostgreSQL for the tests that ask for it (those whose behaviour goes through
the store)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from incidents.http.app import create_app
from incidents.http.auth import tokens_of
from incidents.seeding import seed_files
from incidents.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
POSTGRES_URL = os.environ.get(
    "INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@asynccontextmanager
async def scratch_schema(prefix: str) -> AsyncIterator[str]:
    """A schema name of its own on the test server (``prefix`` then random hex), dropped
    after. Skips where no PostgreSQL server answers."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            pass
    except OSError:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()


@asynccontextmanager
async def fresh_log(engine: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh log's URL on ``engine`` (``sqlite`` or ``postgresql``); a PostgreSQL schema
    of its own, dropped after. Skips where no PostgreSQL server answers."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'http.db'}"
        return
    async with scratch_schema("test_http") as schema:
        yield f"{POSTGRES_URL}?schema={schema}"


@asynccontextmanager
async def writer_client(database_url: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client of the whole application on ``database_url``, sending a writer token."""
    app = create_app(Settings(database_url=database_url, reply_window_days=30))
    async with AsyncTestClient(app=app) as test_client:
        issued = await tokens_of(app).create("writer", "tests")
        test_client.headers["Authorization"] = f"Bearer {issued.token}"
        yield test_client


@asynccontextmanager
async def seeded_client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A writer's client of the whole application on a fresh SQLite file holding the seeds,
    posted over HTTP."""
    async with writer_client(f"sqlite:///{tmp_path / 'seeded.db'}") as test_client:
        for path in seed_files(SEEDS):
            response = await test_client.post(
                "/events", content=path.read_bytes(), headers={"content-type": "application/json"}
            )
            assert response.status_code == 201, response.text
        yield test_client


@pytest.fixture
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client of the whole application sending a writer token (tests of who may do what
    use clients of their own): on the embedded SQLite store, or on the engine a test names
    with ``@pytest.mark.parametrize("client", ["sqlite", "postgresql"], indirect=True)``."""
    engine = getattr(request, "param", "sqlite")
    async with fresh_log(engine, tmp_path) as url, writer_client(url) as test_client:
        yield test_client
