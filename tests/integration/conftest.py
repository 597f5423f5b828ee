"""An app on a fresh SQLite file, driven in process by Litestar's AsyncTestClient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from incidents.http.app import create_app
from incidents.http.auth import tokens_of
from incidents.settings import Settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client of the whole application, on the embedded SQLite store, sending a writer
    token (tests of who may do what use clients of their own)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'http.db'}", reply_window_days=30)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as test_client:
        issued = await tokens_of(app).create("writer", "tests")
        test_client.headers["Authorization"] = f"Bearer {issued.token}"
        yield test_client
