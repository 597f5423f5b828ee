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
# The desk's views, which take as_of and known_at as every projection does.
DESK = (
    "/missions/mission-az-paris/timeline",
    "/projections/statements",
    "/projections/response-times",
    "/projections/relations",
)
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
    for path in DESK:
        response = await client.get(f"{path}?known_at=2000-01-01T00:00:00Z")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["known_at"] == "2000-01-01T00:00:00Z"
        assert body.get("count", 0) == 0 and body.get("by_host_state", []) == [], body
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
        *DESK,
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
        *(f"{path}?as_of=2022-09-18" for path in DESK),
    ):
        response = await client.get(path)
        assert response.status_code == 400, path
        (error,) = response.json()["errors"]
        assert error["parameter"] in ("as_of", "known_at")


async def test_the_desk_views_as_of_a_day_count_what_had_occurred_by_then(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    # The Paris timeline on the eve of the protest holds the attack but not the protest
    day = "as_of=2022-09-18T23:59:59Z"
    timeline = (await client.get(f"/missions/mission-az-paris/timeline?{day}&limit=500")).json()
    streams = {item["stream_id"] for item in timeline["items"]}
    assert "incident-az-paris-2022-09-18-attack" in streams
    assert "protest-az-2022-09-19-paris-embassy-attack" not in streams
    assert timeline["as_of"] == "2022-09-18T23:59:59Z"
    assert timeline["count"] == len(timeline["items"])
    assert all(item["occurred"]["at"] <= "2022-09-18T23:59:59Z" for item in timeline["items"])
    # the statements of 10 November 2020 are there on the 10th, the answer of the 11th is not
    statements = (await client.get("/projections/statements?as_of=2020-11-10T23:59:59Z")).json()
    ids = {row["stream_id"] for row in statements["statements"]}
    assert "statement-fr-le-drian-2020-11-10" in ids
    assert "statement-az-mfa-2020-11-11-le-drian" not in ids
    # France and Azerbaijan had not reached the recall (bounded up to November 2024), and
    # the protest of 19 September 2022 was not lodged yet
    relations = (await client.get(f"/projections/relations?{day}")).json()
    (pair,) = [r for r in relations["relations"] if r["states"] == ["AZ", "FR"]]
    rungs = [rung["rung"] for rung in pair["history"]]
    assert "recall" not in rungs and "protest" not in rungs
    # the note of 17 August 2022 was overdue by 18 September (a 30-day window), not before
    times = (await client.get(f"/projections/response-times?{day}")).json()
    france = next(row for row in times["by_host_state"] if row["state"] == "FR")
    assert (france["notes_sent"], france["overdue"], france["demands_open"]) == (1, 1, 0)
    earlier = "as_of=2022-09-01T00:00:00Z"
    times = (await client.get(f"/projections/response-times?{earlier}")).json()
    france = next(row for row in times["by_host_state"] if row["state"] == "FR")
    assert (france["notes_sent"], france["overdue"]) == (1, 0)
