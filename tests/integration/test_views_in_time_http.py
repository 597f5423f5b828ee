"""``as_of`` and ``known_at`` over HTTP, on the seed data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from incidents.http.app import create_app
from incidents.http.auth import tokens_of
from incidents.seeding import load_into
from incidents.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
FOUR_DEMANDS = {"investigation", "legal_assessment", "prosecution", "compensation"}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(Settings(database_url="memory://"))
    async with AsyncTestClient(app) as client:
        await load_into(app.state.service, SEEDS)
        issued = await tokens_of(app).create("reader", "tests")
        client.headers["Authorization"] = f"Bearer {issued.token}"
        yield client


def protests_of_19_september(body: dict) -> list[dict]:  # type: ignore[type-arg]
    return [p for p in body["protests"] if p["lodged_at"].startswith("2022-09-19")]


async def test_open_protests_as_of_the_day_before_and_the_day_after(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    before = await client.get("/projections/open-protests?as_of=2022-09-18T23:59:59Z")
    assert before.status_code == 200
    assert protests_of_19_september(before.json()) == []
    assert before.json()["as_of"] == "2022-09-18T23:59:59Z"

    after = await client.get("/projections/open-protests?as_of=2022-09-20T00:00:00Z")
    (protest,) = protests_of_19_september(after.json())
    assert set(protest["open_demands"]) == FOUR_DEMANDS
    assert after.json()["as_of"] == "2022-09-20T00:00:00Z"
    assert after.json()["known_at"] is None


async def test_known_before_the_seeding_lists_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    head = (await client.get("/health")).json()["head_position"]
    assert head > 0
    for path in (
        "/projections/open-protests",
        "/projections/incidents",
        "/projections/unanswered-notes",
        "/projections/missions",
    ):
        response = await client.get(f"{path}?known_at=2000-01-01T00:00:00Z")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["known_at"] == "2000-01-01T00:00:00Z"
        assert body["count" if "count" in body else "total_sent"] == 0, body
    events = await client.get("/events?known_at=2000-01-01T00:00:00Z")
    assert events.json()["events"] == []
    assert (
        await client.get("/streams/mission-az-paris?known_at=2000-01-01T00:00:00Z")
    ).status_code == 404


async def test_a_view_known_now_is_the_current_view(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    far = "known_at=2999-01-01T00:00:00Z"
    for path in (
        "/projections/open-protests",
        "/projections/incidents",
        "/projections/unanswered-notes",
        "/projections/missions",
        "/missions/mission-az-paris/unanswered-notes",
    ):
        now = (await client.get(path)).json()
        then = (await client.get(f"{path}?{far}")).json()
        assert then.pop("known_at") == "2999-01-01T00:00:00Z"
        for body in (now, then):
            body.pop("generated_at", None)
            body.pop("known_at", None)
        assert now == then, path
    state = (await client.get("/streams/mission-az-paris")).json()
    then = (await client.get(f"/streams/mission-az-paris?{far}")).json()
    assert then["state"] == state["state"] and then["version"] == state["version"]
    events = (await client.get("/events")).json()["events"]
    assert (await client.get(f"/events?{far}")).json()["events"] == events


async def test_a_malformed_time_is_a_400_naming_it(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    for path in (
        "/projections/open-protests?as_of=yesterday",
        "/projections/missions?known_at=2022-09-18",
        "/missions/mission-az-paris/unanswered-notes?as_of=2022-09-18T10:00:00",
        "/streams/mission-az-paris?as_of=1",
        "/events?known_at=x",
        "/streams/mission-az-paris/events?known_at=x",
    ):
        response = await client.get(path)
        assert response.status_code == 400, path
        (error,) = response.json()["errors"]
        assert error["parameter"] in ("as_of", "known_at")
