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


def begun_by(occurred: dict, moment: str) -> bool:  # type: ignore[type-arg]
    """Whether a date as the views show it can have begun by ``moment`` (same format)."""
    if occurred["precision"] == "unknown":
        return occurred["after"] is None or occurred["after"] <= moment
    return bool(occurred["at"] <= moment)


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
    # by default an item is there when it can have occurred by then (its span begins by
    # then); by dates=certain, when its whole span had ended
    assert all(begun_by(item["occurred"], "2022-09-18T23:59:59Z") for item in timeline["items"])
    assert any(item["occurred"]["at"] > "2022-09-18T23:59:59Z" for item in timeline["items"])
    certain = f"/missions/mission-az-paris/timeline?{day}&limit=500&dates=certain"
    items = (await client.get(certain)).json()["items"]
    assert items and all(item["occurred"]["at"] <= "2022-09-18T23:59:59Z" for item in items)
    assert {item["position"] for item in items} < {i["position"] for i in timeline["items"]}
    # the statements of 10 November 2020 are there on the 10th, the answer of the 11th is not
    statements = (await client.get("/projections/statements?as_of=2020-11-10T23:59:59Z")).json()
    ids = {row["stream_id"] for row in statements["statements"]}
    assert "statement-fr-le-drian-2020-11-10" in ids
    assert "statement-az-mfa-2020-11-11-le-drian" not in ids
    # France and Azerbaijan had not certainly reached the recall (bounded from the 2020 war
    # up to November 2024), though they may have; the protest of 19 September 2022 was not
    # lodged yet
    relations = (await client.get(f"/projections/relations?{day}&dates=certain")).json()
    (pair,) = [r for r in relations["relations"] if r["states"] == ["AZ", "FR"]]
    rungs = [rung["rung"] for rung in pair["history"]]
    assert "recall" not in rungs and "protest" not in rungs
    relations = (await client.get(f"/projections/relations?{day}")).json()
    (pair,) = [r for r in relations["relations"] if r["states"] == ["AZ", "FR"]]
    rungs = [rung["rung"] for rung in pair["history"]]
    assert "recall" in rungs and "protest" not in rungs
    # the note of 17 August 2022 was overdue by 18 September (a 30-day window), not before
    times = (await client.get(f"/projections/response-times?{day}")).json()
    france = next(row for row in times["by_host_state"] if row["state"] == "FR")
    assert (france["notes_sent"], france["overdue"], france["demands_open"]) == (1, 1, 0)
    earlier = "as_of=2022-09-01T00:00:00Z"
    times = (await client.get(f"/projections/response-times?{earlier}")).json()
    france = next(row for row in times["by_host_state"] if row["state"] == "FR")
    assert (france["notes_sent"], france["overdue"]) == (1, 0)


async def test_the_head_of_mission_at_a_moment_under_each_rule(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    # Mustafayev was appointed by the end of 19 September 2022 (no earlier bound); his
    # successor after the start of that day (no later bound).
    async def head(moment: str, dates: str = "") -> str | None:
        response = await client.get(f"/streams/mission-az-paris?as_of={moment}{dates}")
        if response.status_code == 404:
            return "no mission"
        held = response.json()["state"].get("head_of_mission")
        return None if held is None else str(held["name"])

    # possible (the default): what can have happened by then
    assert await head("2022-09-01T00:00:00Z") == "Rahman Mustafayev"
    assert await head("2022-09-01T00:00:00Z", "&dates=possible") == "Rahman Mustafayev"
    assert await head("2022-09-20T00:00:00Z") == "Leyla Abdullayeva"
    # certain: what had happened by then whichever instant of its span it took
    assert await head("2022-09-01T00:00:00Z", "&dates=certain") is None
    assert await head("2022-09-20T00:00:00Z", "&dates=certain") == "Rahman Mustafayev"
    assert await head("2030-01-01T00:00:00Z", "&dates=certain") == "Rahman Mustafayev"
    # the mission's registration is bounded by the end of 2017: certainly not there in 2010
    assert await head("2010-01-01T00:00:00Z", "&dates=certain") == "no mission"
    # as of a time after every event, the default is the current view
    now = (await client.get("/streams/mission-az-paris")).json()["state"]
    later = (await client.get("/streams/mission-az-paris?as_of=2030-01-01T00:00:00Z")).json()
    assert later["state"] == now
    # the missions projection reads the same rule
    missions = "/projections/missions?as_of=2022-09-01T00:00:00Z"
    rows = {r["mission"]: r for r in (await client.get(missions)).json()["missions"]}
    assert rows["mission-az-paris"]["head_of_mission_name"] == "Rahman Mustafayev"
    rows = {
        r["mission"]: r for r in (await client.get(f"{missions}&dates=certain")).json()["missions"]
    }
    assert rows["mission-az-paris"]["head_of_mission_name"] is None


async def test_a_bad_dates_rule_is_a_400_naming_it(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    for path in (
        "/projections/open-protests",
        "/projections/unanswered-notes",
        "/projections/incidents",
        "/projections/missions",
        "/missions/mission-az-paris/unanswered-notes",
        "/streams/mission-az-paris",
        *DESK,
    ):
        response = await client.get(f"{path}?as_of=2022-09-18T00:00:00Z&dates=maybe")
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("application/problem+json")
        (error,) = response.json()["errors"]
        assert error["parameter"] == "dates"
