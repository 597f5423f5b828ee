"""The desk's views over HTTP: a mission's timeline, statements, response times, relations;
over the seeds, and over a generated log where the held views must equal the views folded
from the full states and events read afresh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from bench.generate import planned_events, write_events
from incidents.domain.rules import DomainRules
from incidents.projections.desk import all_missions_touched, references, timeline_view
from incidents.projections.desk_index import DeskIndex
from incidents.projections.in_time import Moment
from incidents.projections.inline import inline_projections
from incidents.settings import Settings
from incidents.store.factory import open_store
from tests.integration.conftest import SEEDS, seeded_client


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    """A client of the whole application on a fresh SQLite file holding the seeds."""
    async with seeded_client(tmp_path) as client:
        yield client


async def _get(client: AsyncTestClient[Any], url: str, **query: Any) -> Any:
    response = await client.get(url, params=query)
    assert response.status_code == 200, response.text
    return response.json()


# --- over the seeds -----------------------------------------------------------------------


async def test_the_paris_timeline_runs_from_2017_to_2022_across_its_streams(
    seeded: AsyncTestClient[Any],
) -> None:
    body = await _get(seeded, "/missions/mission-az-paris/timeline", limit=500)
    items = body["items"]
    streams = {item["stream_id"] for item in items}
    # its own stream, its incidents, its note, the protest about it, the statements about it
    assert {
        "mission-az-paris",
        "incident-az-paris-2022-09-18-attack",
        "note-az-paris-2022-08-17",
        "protest-az-2022-09-19-paris-embassy-attack",
        "statement-az-mustafayev-paris-attack",
        "statement-az-mfa-vienna-convention",
    } <= streams
    assert body["count"] == len(items) and not body["has_more"]
    # occurred order
    ats = [item["occurred"]["at"] for item in items]
    assert ats == sorted(ats)
    # every item cites its sources; a loose date reads as its bounds
    assert all(item["sources"] for item in items)
    damage = next(i for i in items if i["stream_id"] == "incident-az-paris-2020-diaspora-damage")
    assert damage["occurred"]["label"] == "2020-09-26T20:00+00:00/2020-11-09T21:00+00:00"


async def test_the_timeline_pages_with_next_after(seeded: AsyncTestClient[Any]) -> None:
    whole = await _get(seeded, "/missions/mission-az-paris/timeline", limit=500)
    seen: list[int] = []
    after: int | None = None
    while True:
        query: dict[str, Any] = {"limit": 4} | ({"after": after} if after else {})
        page = await _get(seeded, "/missions/mission-az-paris/timeline", **query)
        seen.extend(item["position"] for item in page["items"])
        if not page["has_more"]:
            break
        after = page["next_after"]
    assert seen == [item["position"] for item in whole["items"]]


async def test_the_protest_handed_in_baku_is_on_the_french_embassys_timeline(
    seeded: AsyncTestClient[Any],
) -> None:
    body = await _get(seeded, "/missions/mission-fr-baku/timeline")
    streams = {item["stream_id"] for item in body["items"]}
    assert "protest-az-2022-09-19-paris-embassy-attack" in streams
    assert "statement-az-mfa-hajizadeh-ambassador-recall" in streams


async def test_an_unknown_mission_is_404_and_a_bad_cursor_400(
    seeded: AsyncTestClient[Any],
) -> None:
    missing = await seeded.get("/missions/mission-xx-nowhere/timeline")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await seeded.get("/missions/mission-az-paris/timeline", params={"after": "x"})
    assert bad.status_code == 400
    unknown = await seeded.get("/projections/relations", params={"include": "everything"})
    assert unknown.status_code == 400


async def test_statements_by_state_with_what_they_respond_to(
    seeded: AsyncTestClient[Any],
) -> None:
    body = await _get(seeded, "/projections/statements", state="AZ", limit=1000)
    rows = {row["stream_id"]: row for row in body["statements"]}
    assert body["count"] == len(rows) == body["by_state"]["AZ"]
    rejection = rows["statement-az-mfa-2022-12-01-national-assembly-resolution"]
    assert rejection["responds_to"] == "statement-fr-national-assembly-resolution-2022-11-30"
    assert rejection["stance"] == "rejects" and rejection["sources"] is None
    with_sources = await _get(seeded, "/projections/statements", state="AZ", include="sources")
    assert all(row["sources"] for row in with_sources["statements"])
    france = await _get(seeded, "/projections/statements", body="Senate")
    assert [row["stream_id"] for row in france["statements"]] == ["statement-fr-senate-resolution"]


async def test_response_times_of_france(seeded: AsyncTestClient[Any]) -> None:
    body = await _get(seeded, "/projections/response-times")
    france = next(row for row in body["by_host_state"] if row["state"] == "FR")
    # the note of 17 August 2022 is unanswered and overdue; the police came in 30 minutes;
    # the four demands of the protest of 19 September 2022 are open
    assert (france["notes_sent"], france["notes_answered"], france["overdue"]) == (1, 0, 1)
    assert france["police_response_minutes_median"] == 30.0
    assert france["demands_open"] == 4
    ministry = next(row for row in body["by_ministry"] if row["state"] == "FR")
    assert ministry["body"] == "Ministry of Foreign Affairs"
    cited = await _get(seeded, "/projections/response-times", include="sources")
    france = next(row for row in cited["by_host_state"] if row["state"] == "FR")
    assert france["sources"] and all(s["quote"] for s in france["sources"])


async def test_france_and_azerbaijan_reached_the_recall(seeded: AsyncTestClient[Any]) -> None:
    body = await _get(seeded, "/projections/relations")
    (pair,) = [r for r in body["relations"] if r["states"] == ["AZ", "FR"]]
    assert pair["highest"] == "recall" and not pair["returned"]
    rungs = [rung["rung"] for rung in pair["history"]]
    assert rungs == ["statement", "note", "protest", "recall"]
    recall = pair["history"][-1]
    assert recall["latest"]["label"] == "2020-11-09T21:00+00:00/2024-11-10T20:00+00:00"
    cited = await _get(seeded, "/projections/relations", include="sources")
    assert cited["relations"][0]["sources"]


def _rows(path: str, body: Any) -> list[Any]:
    """The rows of a view that carry sources (an unanswered-notes view: its notes)."""
    if "unanswered-notes" in path:
        return [
            n for m in body["missions"] for side in ("sent", "received") for n in m[side]["notes"]
        ]
    return body[next(k for k in ("incidents", "protests", "missions") if k in body)]


async def test_every_projection_puts_each_rows_sources_beside_it_on_request(
    seeded: AsyncTestClient[Any],
) -> None:
    documents = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("documents/*.txt")}
    for path in (
        "/projections/incidents",
        "/projections/open-protests",
        "/projections/missions",
        "/projections/unanswered-notes",
        "/missions/mission-az-paris/unanswered-notes",
    ):
        for query in ({}, {"as_of": "2022-09-20T00:00:00Z"}):
            plain = _rows(path, await _get(seeded, path, **query))
            cited = _rows(path, await _get(seeded, path, include="sources", **query))
            assert plain and all(row["sources"] is None for row in plain), path
            # the same rows, each with its citations, every quote verbatim in its document
            assert [{**row, "sources": None} for row in cited] == plain, path
            assert all(row["sources"] for row in cited), path
            for row in cited:
                for source in row["sources"]:
                    assert source["quote"] in documents[source["document"]], source
    # at a moment, a stream's sources are those of the events kept by then (the heads of
    # mission are dated from 18 and 19 September 2022)
    now = await _get(seeded, "/projections/missions", include="sources")
    then = await _get(
        seeded, "/projections/missions", include="sources", as_of="2022-09-01T00:00:00Z"
    )
    paris_now, paris_then = (
        next(m["sources"] for m in body["missions"] if m["mission"] == "mission-az-paris")
        for body in (now, then)
    )
    assert len(paris_then) < len(paris_now)


# --- over a generated log -----------------------------------------------------------------


async def test_held_views_equal_the_views_folded_afresh(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gen.db'}", reply_window_days=30)
    store = await open_store(settings.database_url, DomainRules(), settings, inline_projections())
    try:
        world, events = planned_events(3000, seed=11, missions=12)
        clock = datetime(2026, 1, 1, tzinfo=UTC)
        index = DeskIndex(store, 30, lambda: clock)
        # The first half is loaded; the second is caught up with, stream by stream, so the
        # running totals must agree with the folds after each.
        await write_events(store, islice(events, 1500), chunk=100)
        async with index.current() as held:
            assert held.response_times().by_host_state
        await write_events(store, events, chunk=100)
        async with index.current() as held:
            full = await held.full_states()

            def plain(view: Any) -> Any:
                # the same view without its sources
                data = msgspec.to_builtins(view)
                for rows in data.values():
                    for row in rows if isinstance(rows, list) else []:
                        if isinstance(row, dict):
                            row.pop("sources", None)
                return data

            assert plain(held.response_times()) == plain(held.response_times(full))
            assert plain(held.relations()) == plain(held.relations(full))
            assert plain(held.statements(limit=None)) == plain(held.statements(full))
            log = await store.read_all(0, 100_000)
            touches = all_missions_touched(
                {e.stream_id: references(e.data) for e in log if e.version == 1}
            )
            for mission in world[:3]:
                page = await held.timeline(mission.stream_id, None, 500)
                assert page is not None
                reference = timeline_view(mission.stream_id, log, touches, limit=500)
                assert page.count == reference.count > 0
                assert page.items == reference.items
            # at a moment: the events that occurred by as_of (the log is generated in
            # occurred order: a quarter of it), recorded by known_at (the first half's
            # last), or both, as the reference keeps them from the log
            occurred = sorted(e.occurred_at for e in log)
            known_at = log[1499].recorded_at
            through = await held.known_through(known_at)
            assert through == max(e.position for e in log if e.recorded_at <= known_at)
            for at in (
                Moment(as_of=occurred[len(log) // 4]),
                Moment(known_at=known_at),
                Moment(as_of=occurred[3 * len(log) // 4], known_at=known_at),
            ):
                kept = [e for e in log if at.keeps(e)]
                for mission in world[:3]:
                    page = await held.timeline(
                        mission.stream_id,
                        None,
                        500,
                        as_of=at.as_of,
                        known_through=None if at.known_at is None else through,
                    )
                    assert page is not None
                    reference = timeline_view(mission.stream_id, kept, touches, limit=500)
                    assert page.count == reference.count > 0
                    assert page.items == reference.items
    finally:
        await store.close()


def _note_sent(state: str, body: str, subject: str) -> dict[str, Any]:
    """A note from Azerbaijan's embassy in Paris to ``state``'s ``body``."""
    return {
        "type": "NoteSent",
        "occurred_at": "2022-10-01T00:00:00Z",
        "data": {
            "from": {"state": "AZ"},
            "to": {"state": state, "body": body},
            "subject": subject,
            "mission": "mission-az-paris",
        },
    }


async def test_the_index_catches_up_with_appends_after_its_first_read(
    seeded: AsyncTestClient[Any],
) -> None:
    before = await _get(seeded, "/projections/response-times")
    body = {
        "stream_id": "note-az-paris-desk-test",
        "expected_version": "any",
        "events": [
            _note_sent("FR", "Ministry of Foreign Affairs", "test"),
            {
                "type": "ReplyReceived",
                "occurred_at": "2022-10-11T00:00:00Z",
                "data": {"from": {"state": "FR"}, "disposition": "rejected"},
            },
        ],
    }
    response = await seeded.post("/events", json={"appends": [body]})
    assert response.status_code == 201, response.text
    after = await _get(seeded, "/projections/response-times")
    france = next(row for row in after["by_host_state"] if row["state"] == "FR")
    old = next(row for row in before["by_host_state"] if row["state"] == "FR")
    assert france["notes_sent"] == old["notes_sent"] + 1
    assert (france["notes_answered"], france["reply_days_median"]) == (1, 10.0)
    timeline = await _get(seeded, "/missions/mission-az-paris/timeline", limit=500)
    assert "note-az-paris-desk-test" in {item["stream_id"] for item in timeline["items"]}


async def test_a_corrected_mission_moves_the_stream_to_the_other_timeline(
    seeded: AsyncTestClient[Any],
) -> None:
    opened = {
        "stream_id": "note-az-desk-moved",
        "expected_version": "any",
        "events": [_note_sent("GB", "Foreign Office", "filed under the wrong mission")],
    }
    response = await seeded.post("/events", json={"appends": [opened]})
    assert response.status_code == 201, response.text

    async def streams_of(mission: str) -> set[str]:
        body = await _get(seeded, f"/missions/{mission}/timeline", limit=500)
        assert body["count"] == len(body["items"])
        return {item["stream_id"] for item in body["items"]}

    assert "note-az-desk-moved" in await streams_of("mission-az-paris")
    assert "note-az-desk-moved" not in await streams_of("mission-az-london")
    (sent,) = (await _get(seeded, "/streams/note-az-desk-moved/events"))["events"]
    correction = {
        "stream_id": "note-az-desk-moved",
        "expected_version": 1,
        "events": [
            {
                "type": "NoteCorrected",
                "occurred_at": "2022-10-02T00:00:00Z",
                "data": {
                    "corrects": sent["event_id"],
                    "changes": {"mission": "mission-az-london"},
                    "reason": "the note went through the embassy in London",
                },
            }
        ],
    }
    response = await seeded.post("/events", json={"appends": [correction]})
    assert response.status_code == 201, response.text
    assert "note-az-desk-moved" not in await streams_of("mission-az-paris")
    london = await _get(seeded, "/missions/mission-az-london/timeline", limit=500)
    moved = [item for item in london["items"] if item["stream_id"] == "note-az-desk-moved"]
    assert [item["type"] for item in moved] == ["NoteSent", "NoteCorrected"]
    ats = [item["occurred"]["at"] for item in london["items"]]
    assert ats == sorted(ats)


async def test_a_corrected_reply_window_moves_the_running_response_times(
    seeded: AsyncTestClient[Any],
) -> None:
    def plain(body: Any) -> Any:
        for key in ("by_host_state", "by_ministry"):
            for row in body[key]:
                row.pop("sources")
        return body

    before = await _get(seeded, "/projections/response-times")
    france = next(row for row in before["by_host_state"] if row["state"] == "FR")
    assert france["overdue"] == 1
    # when the Paris embassy's reply window is corrected to ten years
    (registered, *_) = (await _get(seeded, "/streams/mission-az-paris/events"))["events"]
    version = (await _get(seeded, "/streams/mission-az-paris"))["version"]
    correction = {
        "stream_id": "mission-az-paris",
        "expected_version": version,
        "events": [
            {
                "type": "MissionCorrected",
                "data": {
                    "corrects": registered["event_id"],
                    "changes": {"reply_window_days": 3650},
                    "reason": "a test of the running totals",
                },
            }
        ],
    }
    response = await seeded.post("/events", json={"appends": [correction]})
    assert response.status_code == 201, response.text
    # then its note of 17 August 2022 is no longer overdue, and the running totals equal
    # the view folded afresh from every state
    after = await _get(seeded, "/projections/response-times")
    france = next(row for row in after["by_host_state"] if row["state"] == "FR")
    assert france["overdue"] == 0
    afresh = await _get(seeded, "/projections/response-times", include="sources")
    assert plain(after) == plain(afresh)
