"""Every endpoint over HTTP: status, headers and body, given / when / then."""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from litestar.testing import AsyncTestClient

from incidents.http.bodies import Category
from incidents.service import KNOWN_CATEGORIES

Client = AsyncTestClient  # type: ignore[type-arg]

PARIS = "mission-az-embassy-paris"
PROBLEM = "application/problem+json"


def mission_registered() -> dict[str, Any]:
    return {
        "type": "MissionRegistered",
        "data": {
            "sending_state": "AZ",
            "receiving_state": "FR",
            "city": "Paris",
            "kind": "embassy",
            "name": "Embassy of Azerbaijan in France",
        },
    }


def note_sent(occurred_at: str = "2022-08-17T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return {
        "type": "NoteSent",
        "occurred_at": occurred_at,
        "data": {
            "from": {"state": "AZ", "body": "Embassy of Azerbaijan in France"},
            "to": {"state": "FR", "body": "Ministry for Europe and Foreign Affairs"},
            "subject": "security of the embassy",
            "mission": PARIS,
            **extra,
        },
    }


def reply_received(disposition: str = "noncommittal") -> dict[str, Any]:
    return {
        "type": "ReplyReceived",
        "data": {"from": {"state": "FR"}, "disposition": disposition},
    }


def protest_lodged() -> dict[str, Any]:
    return {
        "type": "ProtestLodged",
        "occurred_at": "2022-09-19T09:00:00Z",
        "data": {
            "by": {"state": "AZ", "body": "Ministry of Foreign Affairs"},
            "to": {"state": "FR", "body": "Embassy of France in Azerbaijan"},
            "form": "note",
            "demands": ["investigation", "legal_assessment", "prosecution", "compensation"],
            "mission": PARIS,
        },
    }


async def post(client: Client, stream_id: str, *events: dict[str, Any], **body: Any) -> Any:
    return await client.post(f"/streams/{stream_id}/events", json={"events": list(events), **body})


async def given_mission(client: Client) -> None:
    response = await post(client, PARIS, mission_registered())
    assert response.status_code == 201, response.text


def assert_problem(response: Any, status: int, **fields: Any) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    for key, value in fields.items():
        assert body[key] == value, (key, body)
    return body


async def head(client: Client) -> int:
    position: int = (await client.get("/health")).json()["head_position"]
    return position


# --- appending -----------------------------------------------------------------------------


async def test_append_answers_201_with_positions_location_and_etag(client: Client) -> None:
    response = await post(client, PARIS, mission_registered(), expected_version="no_stream")
    assert response.status_code == 201
    assert response.headers["location"] == f"/streams/{PARIS}"
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["stream_id"] == PARIS and body["version"] == 1
    assert [(e["position"], e["version"]) for e in body["events"]] == [(1, 1)]


async def test_event_ids_are_kept_or_made_as_uuidv7(client: Client) -> None:
    given = str(uuid4())
    response = await post(client, PARIS, {**mission_registered(), "event_id": given})
    assert response.json()["events"][0]["event_id"] == given
    made = (await post(client, "note-a", note_sent())).json()["events"][0]["event_id"]
    assert made[14] == "7"  # the version nibble of a UUIDv7


async def test_wrong_expected_version_is_409_with_current_version(client: Client) -> None:
    await given_mission(client)
    response = await post(client, PARIS, mission_registered(), expected_version=0)
    assert_problem(response, 409, current_version=1, stream_id=PARIS)
    assert await head(client) == 1


async def test_if_match_is_an_expected_version(client: Client) -> None:
    await given_mission(client)
    await post(client, "note-a", note_sent())
    stale = await client.post(
        "/streams/note-a/events", json={"events": [reply_received()]}, headers={"If-Match": '"0"'}
    )
    assert_problem(stale, 409, current_version=1)
    fresh = await client.post(
        "/streams/note-a/events", json={"events": [reply_received()]}, headers={"If-Match": '"1"'}
    )
    assert fresh.status_code == 201 and fresh.headers["etag"] == '"2"'


async def test_if_match_disagreeing_with_the_body_is_412(client: Client) -> None:
    response = await client.post(
        "/streams/note-a/events",
        json={"events": [note_sent()], "expected_version": 3},
        headers={"If-Match": '"0"'},
    )
    assert_problem(response, 412)


async def test_resending_stored_events_is_200_with_original_positions(client: Client) -> None:
    await given_mission(client)
    event = {**note_sent(), "event_id": str(uuid4())}
    first = await post(client, "note-a", event)
    again = await post(client, "note-a", event)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["events"] == first.json()["events"]
    assert await head(client) == 2  # the mission and the note


async def test_same_event_id_with_other_content_is_409(client: Client) -> None:
    await given_mission(client)
    event_id = str(uuid4())
    await post(client, "note-a", {**note_sent(), "event_id": event_id})
    other = {**note_sent(subject_suffix_ignored=None), "event_id": event_id}
    other["data"] = {**note_sent()["data"], "subject": "something else"}
    response = await post(client, "note-a", other)
    assert_problem(response, 409, event_id=event_id)
    assert await head(client) == 2  # the mission and the note


async def test_a_reply_to_a_note_never_sent_is_422_naming_event_and_rule(client: Client) -> None:
    response = await post(client, "note-never", reply_received())
    body = assert_problem(response, 422, event_index=0)
    assert body["rule"]
    assert body["type"] == f"/problems/rules/{body['rule']}"
    assert await head(client) == 0


async def test_a_type_outside_the_streams_category_is_422(client: Client) -> None:
    await given_mission(client)
    await post(client, "note-a", note_sent())
    response = await post(client, "note-a", reply_received(), protest_lodged())
    body = assert_problem(response, 422, event_index=1)
    assert "category" in body["rule"]
    assert await head(client) == 2  # the mission and the note


async def test_a_demand_answered_on_a_closed_protest_is_422(client: Client) -> None:
    closed = {"type": "ProtestClosed", "data": {"reason": "settled"}}
    await post(client, "protest-a", protest_lodged(), closed)
    answer = {"type": "DemandAnswered", "data": {"demand": "investigation", "outcome": "met"}}
    assert_problem(await post(client, "protest-a", answer), 422, event_index=0)


async def test_an_unknown_type_is_400_and_an_unknown_category_422(client: Client) -> None:
    unknown_type = await post(client, "note-a", {"type": "NoteEaten", "data": {}})
    body = assert_problem(unknown_type, 400)
    assert body["errors"] == [
        {"pointer": "/events/0/type", "detail": "'NoteEaten' is not one of the types taken here"}
    ]
    unknown_category = await post(client, "treaty-a", note_sent())
    assert_problem(unknown_category, 422, rule="unknown-category")


async def test_malformed_and_mismatched_bodies_are_400_and_store_nothing(client: Client) -> None:
    broken = await client.post(
        "/streams/note-a/events",
        content=b'{"events": [',
        headers={"content-type": "application/json"},
    )
    assert_problem(broken, 400)
    no_events = await client.post("/streams/note-a/events", json={"events": []})
    assert_problem(no_events, 400)
    unknown_field = await post(client, "note-a", {**note_sent(), "colour": "red"})
    assert_problem(unknown_field, 400)
    bad_state = note_sent()
    bad_state["data"]["to"] = {"state": "XX"}
    body = assert_problem(await post(client, "note-a", bad_state), 400)
    assert [e["pointer"] for e in body["errors"]] == ["/events/0/data/to/state"]
    naive_time = note_sent(occurred_at="2022-08-17T00:00:00")
    assert_problem(await post(client, "note-a", naive_time), 400)
    missing = note_sent()
    del missing["data"]["subject"]
    assert_problem(await post(client, "note-a", missing), 400)
    bad_id = await post(client, "Note_A", note_sent())
    assert_problem(bad_id, 400)
    huge = await post(client, "note-a", note_sent(), expected_version=2**63)
    assert_problem(huge, 400)
    assert await head(client) == 0


async def test_a_body_over_one_mebibyte_is_413(client: Client) -> None:
    event = note_sent()
    event["metadata"] = {"padding": "x" * (1024 * 1024)}
    assert_problem(await post(client, "note-a", event), 413)
    assert await head(client) == 0


async def test_multi_stream_append_commits_all_or_nothing(client: Client) -> None:
    await given_mission(client)
    good = {"stream_id": "note-b", "events": [note_sent()]}
    conflicting = {"stream_id": PARIS, "expected_version": 0, "events": [mission_registered()]}
    failed = await client.post("/events", json={"appends": [good, conflicting]})
    assert_problem(failed, 409, append_index=1, current_version=1)
    assert await head(client) == 1
    assert (await client.get("/streams/note-b")).status_code == 404

    ok = await client.post(
        "/events", json={"appends": [good, {"stream_id": "note-c", "events": [note_sent()]}]}
    )
    assert ok.status_code == 201
    assert [a["events"][0]["position"] for a in ok.json()["appends"]] == [2, 3]


# --- reading ------------------------------------------------------------------------------


async def test_read_a_stream_forward_and_backward(client: Client) -> None:
    await given_mission(client)
    ack = {"type": "NoteAcknowledged", "data": {}}
    await post(client, "note-a", note_sent(), ack, reply_received())
    forward = (await client.get("/streams/note-a/events", params={"limit": 2})).json()
    assert [e["version"] for e in forward["events"]] == [1, 2]
    assert forward["next_version"] == 3
    backward = (await client.get("/streams/note-a/events", params={"direction": "backward"})).json()
    assert [e["type"] for e in backward["events"]] == [
        "ReplyReceived",
        "NoteAcknowledged",
        "NoteSent",
    ]
    envelope = backward["events"][-1]
    assert set(envelope) == {
        "position",
        "stream_id",
        "version",
        "event_id",
        "type",
        "data",
        "metadata",
        "occurred_at",
        "recorded_at",
        "hash",
    }
    assert envelope["occurred_at"] == "2022-08-17T00:00:00Z"
    assert envelope["data"]["from"]["state"] == "AZ"
    middle = (await client.get("/streams/note-a/events", params={"from_version": 2})).json()
    assert [e["version"] for e in middle["events"]] == [2, 3]
    assert middle["next_version"] is None


async def test_unknown_stream_is_404(client: Client) -> None:
    assert_problem(await client.get("/streams/note-none/events"), 404, stream_id="note-none")
    assert_problem(await client.get("/streams/note-none"), 404)
    assert_problem(await client.get("/no/such/path"), 404)


async def test_stream_state_has_version_and_etag_and_honours_if_none_match(client: Client) -> None:
    await given_mission(client)
    await post(client, "note-a", note_sent())
    response = await client.get("/streams/note-a")
    assert response.status_code == 200 and response.headers["etag"] == '"1"'
    body = response.json()
    assert body["version"] == 1 and body["category"] == "note" and body["is_open"] is True
    assert body["mission"] == PARIS
    assert body["state"]["status"] == "sent"
    cached = await client.get("/streams/note-a", headers={"If-None-Match": '"1"'})
    assert cached.status_code == 304


async def test_the_global_log_pages_with_a_cursor_and_filters(client: Client) -> None:
    await given_mission(client)
    for name in "abc":
        await post(client, f"note-{name}", note_sent())
    await post(client, "protest-a", protest_lodged())
    page = await client.get("/events", params={"after": 0, "limit": 2})
    body = page.json()
    assert [e["position"] for e in body["events"]] == [1, 2]
    assert body["has_more"] is True and body["next_after"] == 2
    assert '</events?limit=2&after=2>; rel="next"' in page.headers["link"]
    rest = (await client.get("/events", params={"after": 2})).json()
    assert [e["position"] for e in rest["events"]] == [3, 4, 5] and rest["has_more"] is False
    notes = (await client.get("/events", params={"category": "note"})).json()["events"]
    assert {e["stream_id"] for e in notes} == {"note-a", "note-b", "note-c"}
    protests = (await client.get("/events?type=ProtestLodged&type=MissionRegistered")).json()
    assert [e["type"] for e in protests["events"]] == ["MissionRegistered", "ProtestLodged"]
    assert_problem(await client.get("/events", params={"limit": 0}), 400)
    assert_problem(await client.get("/events", params={"after": 2**63}), 400)
    assert_problem(
        await client.get("/streams/note-a/events?from_version=99999999999999999999"), 400
    )


# --- projections --------------------------------------------------------------------------


async def test_a_reply_removes_a_note_from_unanswered_notes_at_once(client: Client) -> None:
    await given_mission(client)
    await post(client, "note-a", note_sent())
    await post(client, "note-b", note_sent(occurred_at="2022-09-01T00:00:00Z"))
    view = (await client.get("/projections/unanswered-notes")).json()
    (paris,) = view["missions"]
    assert paris["mission"] == PARIS and paris["receiving_state"] == "FR"
    assert paris["sent"]["count"] == 2 and paris["received"]["count"] == 0
    assert paris["sent"]["oldest_sent_at"] == "2022-08-17T00:00:00Z"
    assert paris["sent"]["overdue"] == 2  # far past the 30-day window
    assert paris["sent"]["notes"][0]["days_waiting"] > 365

    await post(client, "note-a", reply_received())
    after = (await client.get(f"/missions/{PARIS}/unanswered-notes")).json()
    assert [n["stream_id"] for n in after["missions"][0]["sent"]["notes"]] == ["note-b"]


async def test_notes_addressed_to_a_mission_count_as_received(client: Client) -> None:
    await given_mission(client)
    incoming = note_sent()
    incoming["data"]["from"], incoming["data"]["to"] = (
        incoming["data"]["to"],
        incoming["data"]["from"],
    )
    await post(client, "note-in", incoming)
    (paris,) = (await client.get("/projections/unanswered-notes")).json()["missions"]
    assert paris["received"]["count"] == 1 and paris["sent"]["count"] == 0


async def test_reply_due_at_in_the_future_is_not_overdue(client: Client) -> None:
    await given_mission(client)
    await post(client, "note-a", note_sent(reply_due_at="2999-01-01T00:00:00Z"))
    (paris,) = (await client.get("/projections/unanswered-notes")).json()["missions"]
    assert paris["sent"]["overdue"] == 0
    assert paris["sent"]["notes"][0]["due_at"] == "2999-01-01T00:00:00Z"


async def test_a_met_demand_leaves_the_open_list(client: Client) -> None:
    await given_mission(client)
    await post(client, "protest-a", protest_lodged())
    view = (await client.get("/projections/open-protests", params={"by": "AZ"})).json()
    assert view["count"] == 1
    assert view["protests"][0]["open_demands"] == [
        "investigation",
        "legal_assessment",
        "prosecution",
        "compensation",
    ]
    met = {"type": "DemandAnswered", "data": {"demand": "investigation", "outcome": "met"}}
    partial = {
        "type": "DemandAnswered",
        "data": {"demand": "compensation", "outcome": "partially_met"},
    }
    await post(client, "protest-a", met, partial)
    after = (await client.get("/projections/open-protests")).json()
    assert after["protests"][0]["open_demands"] == [
        "legal_assessment",
        "prosecution",
        "compensation",
    ]
    assert (await client.get("/projections/open-protests", params={"to": "DE"})).json()[
        "count"
    ] == 0

    await post(client, "protest-a", {"type": "ProtestClosed", "data": {"reason": "answered"}})
    assert (await client.get("/projections/open-protests")).json()["count"] == 0


async def test_incidents_by_mission_and_host_state(client: Client) -> None:
    await given_mission(client)
    attack = {
        "type": "IncidentReported",
        "occurred_at": "2022-09-18T12:20:00Z",
        "data": {"kind": "attack", "title": "Embassy stormed", "mission": PARIS},
    }
    police = {"type": "PoliceResponded", "data": {"arrived_at": "2022-09-18T12:50:00Z"}}
    monument = {
        "type": "IncidentReported",
        "occurred_at": "2021-01-01T00:00:00Z",
        "data": {"kind": "vandalism", "title": "Monument vandalized", "location": {"state": "FR"}},
    }
    await post(client, "incident-paris", attack, police)
    await post(client, "incident-monument", monument)
    view = (await client.get("/projections/incidents")).json()
    assert view["count"] == 2
    assert view["by_host_state"] == {"FR": 2}
    assert view["by_month"] == {"2021-01": 1, "2022-09": 1}
    assert view["incidents"][0]["police_response_minutes"] == 30
    only = (await client.get("/projections/incidents", params={"mission": PARIS})).json()
    assert [i["stream_id"] for i in only["incidents"]] == ["incident-paris"]
    since = await client.get("/projections/incidents", params={"since": "2022-01-01T00:00:00Z"})
    assert since.json()["count"] == 1


async def test_missions_summary_counts_what_concerns_each_mission(client: Client) -> None:
    await given_mission(client)
    await post(client, "note-a", note_sent())
    await post(client, "note-b", note_sent())
    await post(client, "note-b", reply_received())
    await post(client, "protest-a", protest_lodged())
    view = (await client.get("/projections/missions")).json()
    (row,) = view["missions"]
    assert row["mission"] == PARIS
    assert (row["notes_sent"], row["notes_sent_unanswered"], row["open_protests"]) == (2, 1, 1)
    assert row["latest_position"] == 5


def next_page(response: Any) -> tuple[str, dict[str, list[str]]]:
    """The path and query of a response's ``Link: <...>; rel="next"``."""
    links = [part.strip() for part in response.headers["link"].split(",")]
    link = next(part for part in links if part.endswith('>; rel="next"'))
    url = urlsplit(link[1 : link.index(">")])
    return url.path, parse_qs(url.query)


async def given_missions_with_notes(client: Client, *missions: str) -> None:
    for mission in missions:
        registered = mission_registered()
        registered["data"]["city"] = mission.rsplit("-", 1)[-1].title()
        await post(client, mission, registered)
        sent = note_sent()
        sent["data"]["mission"] = mission
        await post(client, f"note-{mission}", sent)


async def test_unanswered_notes_come_a_page_of_missions_at_a_time(client: Client) -> None:
    baku, rome = "mission-az-embassy-baku", "mission-az-embassy-rome"
    await given_missions_with_notes(client, PARIS, baku, rome)
    first = await client.get("/projections/unanswered-notes", params={"limit": 2})
    page = first.json()
    assert [row["mission"] for row in page["missions"]] == [baku, PARIS]
    assert page["has_more"] is True and page["next_after"] == PARIS
    assert page["total_sent"] == 2  # the totals of the missions listed
    path, query = next_page(first)
    assert (path, query) == ("/projections/unanswered-notes", {"after": [PARIS], "limit": ["2"]})
    rest = await client.get(path, params=query)
    assert [row["mission"] for row in rest.json()["missions"]] == [rome]
    assert rest.json()["has_more"] is False and 'rel="next"' not in rest.headers["link"]
    whole = (await client.get("/projections/unanswered-notes")).json()
    assert [row["mission"] for row in whole["missions"]] == [baku, PARIS, rome]


async def test_open_protests_and_incidents_come_a_page_at_a_time(client: Client) -> None:
    await given_mission(client)
    for n in range(3):
        await post(client, f"protest-{n}", protest_lodged())
        await post(
            client,
            f"incident-{n}",
            {
                "type": "IncidentReported",
                "occurred_at": f"2022-09-1{n}T12:20:00Z",
                "data": {"kind": "attack", "title": "Stones thrown", "mission": PARIS},
            },
        )
    first = await client.get("/projections/open-protests", params={"by": "AZ", "limit": 2})
    assert [p["stream_id"] for p in first.json()["protests"]] == ["protest-0", "protest-1"]
    assert first.json()["count"] == 3 and first.json()["open_demands"] == 12
    path, query = next_page(first)
    assert query == {"after": ["protest-1"], "by": ["AZ"], "limit": ["2"]}
    rest = (await client.get(path, params=query)).json()
    assert [p["stream_id"] for p in rest["protests"]] == ["protest-2"] and not rest["has_more"]
    newest = await client.get("/projections/incidents", params={"limit": 1, "mission": PARIS})
    assert [i["stream_id"] for i in newest.json()["incidents"]] == ["incident-2"]
    assert newest.json()["count"] == 3 and newest.json()["by_mission"] == {PARIS: 3}
    path, query = next_page(newest)
    older = await client.get(path, params=query)
    assert [i["stream_id"] for i in older.json()["incidents"]] == ["incident-1"]


async def test_bad_pages_are_400_and_unknown_cursors_422(client: Client) -> None:
    await given_mission(client)
    for path, too_many in (
        ("/projections/unanswered-notes", 51),
        ("/projections/open-protests", 1001),
        ("/projections/incidents", 1001),
    ):
        for limit in (0, -1, too_many, "ten", 2**64):
            assert_problem(await client.get(path, params={"limit": limit}), 400)
        assert_problem(await client.get(path, params={"after": "x"}), 400)
    for path in ("/projections/open-protests", "/projections/incidents"):
        assert_problem(await client.get(path, params={"after": PARIS}), 400)
    # a cursor that names no stream of the log: well-formed, but nothing to go on from
    for path in (
        "/projections/open-protests?after=protest-none",
        "/projections/incidents?after=incident-none",
    ):
        body = assert_problem(await client.get(path), 422, type="/problems/unknown-cursor")
        assert [e["parameter"] for e in body["errors"]] == ["after"]


async def test_bad_projection_filters_are_400(client: Client) -> None:
    assert_problem(await client.get("/projections/open-protests", params={"mission": "x"}), 400)
    assert_problem(await client.get("/projections/incidents", params={"since": "yesterday"}), 400)


async def test_openapi_document_and_docs_are_served(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert "/streams/{stream_id}/events" in document["paths"]
    assert "/projections/open-protests" in document["paths"]
    assert (await client.get("/schema/swagger")).status_code == 200


async def test_a_method_the_path_does_not_take_is_405_problem(client: Client) -> None:
    assert_problem(await client.delete("/streams/note-a"), 405)


def test_the_categories_openapi_lists_are_the_catalogues() -> None:
    assert set(get_args(Category)) == KNOWN_CATEGORIES
