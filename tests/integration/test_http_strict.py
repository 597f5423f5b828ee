"""Strict requests: no parameter ignored, one 400 shape, strict bodies, problem type pages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from incidents.http.problems import PROBLEM_PAGES
from tests.integration.test_http import (
    PARIS,
    Client,
    assert_problem,
    given_mission,
    head,
    mission_registered,
    note_sent,
    post,
)

# One GET of every kind of read, each with the parameters it takes.
READS = [
    "/health",
    "/events",
    f"/streams/{PARIS}",
    f"/streams/{PARIS}/events",
    "/projections/unanswered-notes",
    "/projections/open-protests",
    "/projections/incidents",
    "/projections/missions",
    f"/missions/{PARIS}/unanswered-notes",
    f"/missions/{PARIS}/timeline",
    "/projections/statements",
    "/projections/response-times",
    "/projections/relations",
    "/search?q=embassy",
    "/events/live",
]


@pytest.mark.parametrize("path", READS)
async def test_an_unknown_query_parameter_is_400_naming_it(client: Client, path: str) -> None:
    await given_mission(client)
    response = await client.get(path, params={"colour": "red", "limit": "1"})
    body = assert_problem(response, 400)
    assert {"parameter": "colour", "detail": "not a parameter of this operation"} in body["errors"]
    assert "colour" in body["detail"]


async def test_an_unknown_query_parameter_on_an_append_is_400_and_stores_nothing(
    client: Client,
) -> None:
    response = await client.post(
        f"/streams/{PARIS}/events?expected=1", json={"events": [mission_registered()]}
    )
    assert_problem(response, 400)
    assert await head(client) == 0


async def test_a_malformed_time_and_a_limit_out_of_range_are_400_naming_the_parameter(
    client: Client,
) -> None:
    since = assert_problem(await client.get("/projections/incidents?since=yesterday"), 400)
    assert [e["parameter"] for e in since["errors"]] == ["since"]
    for path in ("/events?limit=0", "/events?limit=10001", "/projections/missions?limit=-1"):
        response = await client.get(path)
        body = assert_problem(response, 400)
        assert [e.get("parameter") for e in body["errors"]] == ["limit"], path


async def test_every_error_of_a_body_is_listed_at_once_with_full_pointers(client: Client) -> None:
    first = note_sent()
    del first["data"]["subject"]
    second = note_sent()
    second["data"]["to"] = {"state": "XX"}
    second["colour"] = "red"
    third = note_sent(occurred_at="2022-08-17T00:00:00")
    response = await post(client, "note-a", first, second, third, expected_version="several")
    body = assert_problem(response, 400, type="/problems/bad-request")
    pointers = sorted(e["pointer"] for e in body["errors"])
    assert pointers == [
        "/events/0/data/subject",
        "/events/1/colour",
        "/events/1/data/to/state",
        "/events/2/occurred_at",
        "/expected_version",
    ]
    assert all(e["detail"] for e in body["errors"])
    assert await head(client) == 0


async def test_every_error_of_a_multi_append_is_listed_with_the_appends_index(
    client: Client,
) -> None:
    event = note_sent()
    del event["data"]["from"]
    response = await client.post(
        "/events",
        json={"appends": [{"stream_id": "note-a", "events": [event, {"type": "NoteEaten"}]}]},
    )
    body = assert_problem(response, 400)
    assert sorted(e["pointer"] for e in body["errors"]) == [
        "/appends/0/events/0/data/from",
        "/appends/0/events/1/type",
    ]


async def test_a_duplicate_key_anywhere_is_400(client: Client) -> None:
    event = json.dumps(mission_registered())[:-1] + ', "type": "NoteSent"}'
    for body in (
        '{"events": [' + event + "]}",
        '{"events": [], "events": []}',
        '{"events": [{"type": "MissionRegistered", "metadata": {"a": 1, "a": 2}}]}',
    ):
        response = await client.post(
            f"/streams/{PARIS}/events", content=body, headers={"content-type": "application/json"}
        )
        problem = assert_problem(response, 400)
        assert "twice" in problem["detail"]
    assert await head(client) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_is_415(client: Client, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        f"/streams/{PARIS}/events",
        content=json.dumps({"events": [mission_registered()]}),
        headers=headers,
    )
    assert_problem(response, 415, type="/problems/unsupported-media-type")
    assert await head(client) == 0


async def test_a_json_suffix_media_type_is_taken(client: Client) -> None:
    response = await client.post(
        f"/streams/{PARIS}/events",
        content=json.dumps({"events": [mission_registered()]}),
        headers={"content-type": "application/vnd.incidents+json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("depth", [900, 10_000, 100_000])
async def test_a_body_of_any_depth_ends_in_a_4xx(client: Client, depth: int) -> None:
    deep: Any = "[" * depth + "]" * depth
    metadata = '{"events": [{"type": "MissionRegistered", "data": {}, "metadata": {"x": '
    for body in (deep, metadata + deep + "}}]}"):
        response = await client.post(
            f"/streams/{PARIS}/events", content=body, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await head(client) == 0


NOT_VERSIONS = ["9" * 5000, '"' + "1" * 20 + '"', '"\u0663"'.encode(), 'W/"1"', '"-1"', '"1", "2"']


@pytest.mark.parametrize("if_match", NOT_VERSIONS)
async def test_an_if_match_that_is_not_a_version_is_400_naming_the_header(
    client: Client, if_match: str | bytes
) -> None:
    response = await client.post(
        f"/streams/{PARIS}/events",
        json={"events": [mission_registered()]},
        headers={"if-match": if_match},
    )
    body = assert_problem(response, 400)
    assert [e.get("header") for e in body["errors"]] == ["If-Match"]
    assert await head(client) == 0


async def test_a_stream_id_with_a_final_newline_is_400_and_stores_nothing(client: Client) -> None:
    response = await client.post(
        "/streams/mission-bad%0A/events", json={"events": [mission_registered()]}
    )
    body = assert_problem(response, 400)
    assert [e.get("parameter") for e in body["errors"]] == ["stream_id"]
    many = await client.post(
        "/events",
        json={"appends": [{"stream_id": "mission-bad\n", "events": [mission_registered()]}]},
    )
    assert many.status_code in (400, 422), many.text
    assert await head(client) == 0


async def test_a_single_valued_parameter_given_twice_or_null_is_400(client: Client) -> None:
    await given_mission(client)
    twice = assert_problem(await client.get(f"/streams/{PARIS}/events?limit=1&limit=2"), 400)
    assert twice["errors"] == [{"parameter": "limit", "detail": "takes one value, given more"}]
    null = assert_problem(await client.get(f"/streams/{PARIS}/events?from_version=null"), 400)
    assert [e["parameter"] for e in null["errors"]] == ["from_version"]
    repeated = await client.get("/events?type=NoteSent&type=MissionRegistered")
    assert repeated.status_code == 200


async def test_fields_the_schema_takes_but_a_rule_between_them_refuses_are_422(
    client: Client,
) -> None:
    event = note_sent()
    event["data"]["to"] = {"person": "someone"}
    body = assert_problem(await post(client, "note-a", event), 422, rule="data-invalid")
    assert [e["pointer"] for e in body["errors"]] == ["/events/0/data/to"]
    assert await head(client) == 0


async def test_if_match_and_expected_version_that_disagree_are_412(client: Client) -> None:
    response = await post(client, PARIS, mission_registered(), expected_version="no_stream")
    assert response.status_code == 201
    disagree = await client.post(
        f"/streams/{PARIS}/events",
        json={"events": [mission_registered()], "expected_version": 0},
        headers={"if-match": '"1"'},
    )
    assert_problem(disagree, 412, type="/problems/precondition-failed")


async def test_every_problem_type_answers_with_a_page_explaining_it(client: Client) -> None:
    for slug, (title, _) in PROBLEM_PAGES.items():
        response = await client.get(f"/problems/{slug}")
        assert response.status_code == 200, slug
        assert response.headers["content-type"].startswith("text/html")
        assert title in response.text
    rule = await client.get("/problems/rules/reply-to-unsent-note")
    assert rule.status_code == 200
    assert "reply-to-unsent-note" in rule.text
    assert (await client.get("/problems/no-such-problem")).status_code == 404


async def test_the_type_of_every_problem_answered_has_its_page(client: Client) -> None:
    await given_mission(client)
    answers = [
        await client.get("/events?limit=0"),
        await client.get("/no/such/path"),
        await client.delete("/events"),
        await client.get("/streams/note-none"),
        await post(client, PARIS, mission_registered(), expected_version=5),
        await post(client, "note-a", {"type": "ReplyReceived", "data": {"from": {"state": "FR"}}}),
        await client.post("/events", content=b"x", headers={"content-type": "text/plain"}),
    ]
    for response in answers:
        assert response.status_code >= 400
        page = await client.get(response.json()["type"])
        assert page.status_code == 200, response.json()["type"]
