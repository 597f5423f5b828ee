"""Times at the calendar's edges: refused past the domain's range, stored exactly within it,
on SQLite and PostgreSQL, with verify and replay clean afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from incidents.domain.rules import DomainRules
from incidents.http.app import create_app
from incidents.projections.inline import inline_projections
from incidents.projections.replay import replay
from incidents.settings import Settings
from incidents.store.chain import verify_log
from incidents.store.factory import open_store
from incidents.tokens import open_tokens
from tests.integration.conftest import fresh_log as database

Client = AsyncTestClient  # type: ignore[type-arg]

# The findings: each once an OverflowError (500) or an infinity on PostgreSQL.
OUT_OF_RANGE = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "0999-12-31T23:59:59.999999Z",
    "3000-01-01T00:00:00Z",
    # Year 1000 on its own clock, 999 in UTC.
    "1000-01-01T00:00:00+01:00",
]
# The edges of the range, each with an offset, and what they are in UTC.
IN_RANGE = {
    "1000-01-01T00:00:00Z": "1000-01-01T00:00:00+00:00",
    "2999-12-31T23:59:59.999999Z": "2999-12-31T23:59:59.999999+00:00",
    "1000-01-01T13:59:00+13:59": "1000-01-01T00:00:00+00:00",
    "2999-12-31T11:59:59-12:00": "2999-12-31T23:59:59+00:00",
}


def note(occurred_at: str | None = None, reply_due_at: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "from": {"state": "AZ", "body": "Embassy of Azerbaijan in France"},
        "to": {"state": "FR", "body": "Ministry for Europe and Foreign Affairs"},
        "subject": "security of the embassy",
    }
    if reply_due_at is not None:
        data["reply_due_at"] = reply_due_at
    event: dict[str, Any] = {"type": "NoteSent", "data": data}
    if occurred_at is not None:
        event["occurred_at"] = occurred_at
    return {"events": [event]}


@asynccontextmanager
async def served_app(database_url: str) -> AsyncIterator[tuple[Litestar, Client]]:
    app = create_app(Settings(database_url=database_url))
    # The token is made through a store of this loop's own (the app runs on another).
    tokens = open_tokens(database_url)
    issued = await tokens.create("writer", "tests")
    await tokens.close()
    async with Client(app=app) as client:
        client.headers["Authorization"] = f"Bearer {issued.token}"
        yield app, client


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_times_past_the_range_are_refused_and_store_nothing(
    engine: str, tmp_path: Path
) -> None:
    async with database(engine, tmp_path) as url, served_app(url) as (_, client):
        head = (await client.get("/health")).json()["head_hash"]
        for number, value in enumerate(OUT_OF_RANGE):
            for body in (note(occurred_at=value), note(reply_due_at=value)):
                response = await client.post(f"/streams/note-edge-{number}/events", json=body)
                # 400 where the schema says so; 422 (data-invalid) where only the range does
                assert response.status_code in (400, 422), (value, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/health")).json()["head_hash"] == head
        # A correction cannot move a time out of the range either.
        ok = await client.post("/streams/note-edge-ok/events", json=note("2022-08-17T00:00:00Z"))
        assert ok.status_code == 201, ok.text
        event_id = (await client.get("/streams/note-edge-ok/events")).json()["events"][0][
            "event_id"
        ]
        before = (await client.get("/health")).json()["head_hash"]
        for value in OUT_OF_RANGE[:4]:
            for field in ("occurred_at", "reply_due_at"):
                correction = {
                    "events": [
                        {
                            "type": "NoteCorrected",
                            "data": {
                                "corrects": event_id,
                                "changes": {field: value},
                                "reason": "a typo",
                            },
                        }
                    ]
                }
                response = await client.post("/streams/note-edge-ok/events", json=correction)
                assert 400 <= response.status_code < 500, (field, value, response.text)
        assert (await client.get("/health")).json()["head_hash"] == before


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_times_at_the_edges_round_trip_and_verify_and_replay_stay_clean(
    engine: str, tmp_path: Path
) -> None:
    async with database(engine, tmp_path) as url:
        async with served_app(url) as (_, client):
            await append_and_read_the_edges(client)
        # and the integrity tools, on a store of their own, find nothing wrong
        store = await open_store(url, DomainRules(), projections=inline_projections())
        try:
            report = await verify_log(store)
            assert report.broken is None and report.count == len(IN_RANGE)
            replayed = await replay(store, DomainRules())
            assert replayed.differences == []
        finally:
            await store.close()


async def append_and_read_the_edges(client: Client) -> None:
    """Append a note at each edge of the range; the log gives back the same instants."""
    for number, value in enumerate(IN_RANGE):
        response = await client.post(
            f"/streams/note-edge-{number}/events",
            json=note(occurred_at=value, reply_due_at=value),
        )
        assert response.status_code == 201, (value, response.text)
    events = (await client.get("/events")).json()["events"]
    stored = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert [t.isoformat() for t in stored] == list(IN_RANGE.values())
    # Every view that adds a window to these times still answers.
    for path in ("/projections/unanswered-notes", "/projections/missions"):
        assert (await client.get(path)).status_code == 200, path
