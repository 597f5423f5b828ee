"""References between streams: missions must exist; correspondence and incidents may not yet.

Also: every example of docs/events.md is a body POST /events takes, in the order given.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_http import (
    PARIS,
    Client,
    assert_problem,
    given_mission,
    head,
    note_sent,
    post,
)

REPO = Path(__file__).resolve().parents[2]

# Behaviour that goes through the store, checked on both engines.
ON_EACH_STORE = pytest.mark.parametrize("client", ["sqlite", "postgresql"], indirect=True)


def incident(mission: str) -> dict[str, Any]:
    return {
        "type": "IncidentReported",
        "occurred_at": "2022-09-18T12:20:00Z",
        "data": {"kind": "attack", "title": "Attack", "mission": mission},
    }


@ON_EACH_STORE
async def test_an_event_naming_a_mission_the_log_does_not_hold_is_422(client: Client) -> None:
    response = await post(client, "incident-a", incident("mission-az-nowhere"))
    assert_problem(response, 422, rule="mission-unknown", event_index=0)
    note = await post(client, "note-a", note_sent())  # names PARIS, not registered
    assert_problem(note, 422, rule="mission-unknown")
    assert await head(client) == 0
    missions = (await client.get("/projections/missions")).json()
    assert missions["missions"] == []


@ON_EACH_STORE
async def test_a_mission_registered_earlier_in_the_same_request_may_be_named(
    client: Client,
) -> None:
    mission = {
        "type": "MissionRegistered",
        "data": {
            "sending_state": "AZ",
            "receiving_state": "FR",
            "city": "Paris",
            "kind": "embassy",
            "name": "Embassy",
        },
    }
    body = {
        "appends": [
            {"stream_id": PARIS, "events": [mission]},
            {"stream_id": "incident-a", "events": [incident(PARIS)]},
        ]
    }
    assert (await client.post("/events", json=body)).status_code == 201
    later_first = {
        "appends": [
            {"stream_id": "incident-b", "events": [incident("mission-az-later")]},
            {"stream_id": "mission-az-later", "events": [mission]},
        ]
    }
    refused = await client.post("/events", json=later_first)
    assert_problem(refused, 422, rule="mission-unknown", append_index=0)


@ON_EACH_STORE
async def test_a_reply_to_correspondence_the_log_does_not_hold_is_stored_with_a_warning(
    client: Client,
) -> None:
    await given_mission(client)
    reply = note_sent(in_reply_to="note-sent-before-the-log")
    response = await post(client, "note-a", reply)
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [
        {
            "rule": "reference-not-in-log",
            "pointer": "/events/0/data/in_reply_to",
            "detail": "'note-sent-before-the-log' is not in the log (from before it began, "
            "or not recorded yet); the event was stored",
        }
    ]
    known = await post(client, "note-b", note_sent(in_reply_to="note-a"))
    assert "warnings" not in known.json()


@ON_EACH_STORE
async def test_warnings_of_a_multi_append_point_into_its_appends(client: Client) -> None:
    await given_mission(client)
    body = {
        "appends": [
            {"stream_id": "note-a", "events": [note_sent()]},
            {"stream_id": "note-b", "events": [note_sent(about_incident="incident-unrecorded")]},
        ]
    }
    answer = (await client.post("/events", json=body)).json()
    assert "warnings" not in answer["appends"][0]
    assert [w["pointer"] for w in answer["appends"][1]["warnings"]] == [
        "/appends/1/events/0/data/about_incident"
    ]


def events_examples() -> list[dict[str, Any]]:
    text = (REPO / "docs" / "events.md").read_text()
    section = text[text.index("## Examples") : text.index("## References between streams")]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]


@ON_EACH_STORE
async def test_the_examples_of_docs_events_are_bodies_post_events_takes(client: Client) -> None:
    examples = events_examples()
    assert len(examples) >= 6
    for example in examples:
        response = await client.post("/events", json=example)
        assert response.status_code == 201, (example, response.text)
