"""Honest dates over HTTP: the seeds' loose dates in the incidents and missions views, and
``since``/``until`` under the ``certain`` and ``possible`` rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.conftest import seeded_client

SEPTEMBER_2022 = {"since": "2022-09-01T00:00:00Z", "until": "2022-09-30T23:59:59Z"}


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    """A client of the whole application on a fresh SQLite file holding the seeds."""
    async with seeded_client(tmp_path) as client:
        yield client


async def _incidents(client: AsyncTestClient[Any], **query: str) -> dict[str, Any]:
    response = await client.get("/projections/incidents", params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_september_2022_holds_only_the_incidents_certainly_in_it(
    seeded: AsyncTestClient[Any],
) -> None:
    body = await _incidents(seeded, **SEPTEMBER_2022)
    ids = {row["stream_id"] for row in body["incidents"]}
    # Beirut is bounded inside September; Tbilisi has no later bound; the letters and London
    # came by 17 August
    assert ids == {
        "incident-az-paris-2022-09-18-attack",
        "incident-az-beirut-2022-attack",
        "incident-am-az-border-2022-09-12-clashes",
    }
    assert body["by_month"] == {"2022-09": 3}


async def test_the_possible_rule_adds_the_incident_open_towards_the_range(
    seeded: AsyncTestClient[Any],
) -> None:
    certain = await _incidents(seeded, **SEPTEMBER_2022, dates="certain")
    possible = await _incidents(seeded, **SEPTEMBER_2022, dates="possible")
    added = {r["stream_id"] for r in possible["incidents"]} - {
        r["stream_id"] for r in certain["incidents"]
    }
    # Tbilisi (after 12 September 2022, open after), the Natavan monument (2020 to 2024) and
    # the midnight fire (no earlier bound, by 30 November 2022)
    assert added == {
        "incident-az-tbilisi-attempt",
        "incident-fr-natavan-monument-vandalism",
        "incident-az-kalbajar-lachin-midnight-fire",
    }
    assert possible["count"] == certain["count"] + 3
    assert possible["by_month"]["undated"] == 3
    response = await seeded.get("/projections/incidents", params={"dates": "maybe"})
    assert response.status_code == 400


async def test_a_loose_date_is_shown_as_its_bounds_never_as_exact(
    seeded: AsyncTestClient[Any],
) -> None:
    rows = {r["stream_id"]: r for r in (await _incidents(seeded))["incidents"]}
    beirut = rows["incident-az-beirut-2022-attack"]
    assert beirut["occurred_precision"] == "unknown"
    assert beirut["occurred_label"] == "2022-09-11T20:00+00:00/2022-09-18T12:20+00:00"
    assert rows["incident-az-london-embassy"]["occurred_label"] == "../2022-08-17T22:00+00:00"
    assert rows["incident-az-paris-2022-09-18-attack"]["occurred_label"] == (
        "2022-09-18T14:20+02:00"
    )
    assert rows["incident-az-aghdam-2022-11-29-fire"]["occurred_label"] == "2022-11-29"
    # the monument is no longer the newest incident of a month the texts never name
    by_month = (await _incidents(seeded))["by_month"]
    assert "2026-12" not in by_month and by_month["undated"] >= 3


async def test_the_missions_show_the_head_of_mission_by_name_and_the_recall_by_its_bounds(
    seeded: AsyncTestClient[Any],
) -> None:
    response = await seeded.get("/projections/missions")
    rows = {row["mission"]: row for row in response.json()["missions"]}
    paris, baku = rows["mission-az-paris"], rows["mission-fr-baku"]
    assert (paris["head_of_mission_name"], paris["head_of_mission_title"]) == (
        "Leyla Abdullayeva",
        "Ambassador to France",
    )
    assert paris["head_of_mission_since"] == "2022-09-18T22:00+00:00/.."
    assert baku["head_of_mission"] == "recalled"
    assert baku["head_of_mission_name"] is None
    assert baku["head_of_mission_since"] == "2020-11-09T21:00+00:00/2024-11-10T20:00+00:00"


async def test_the_protest_handed_to_frances_ambassador_counts_at_both_missions(
    seeded: AsyncTestClient[Any],
) -> None:
    response = await seeded.get("/projections/missions")
    rows = {row["mission"]: row for row in response.json()["missions"]}
    # the protest of 19 September 2022 concerns the embassy in Paris and was handed to
    # France's ambassador in Baku
    assert (
        rows["mission-az-paris"]["open_protests"],
        rows["mission-az-paris"]["open_protests_handed_to"],
    ) == (1, 0)
    assert (
        rows["mission-fr-baku"]["open_protests"],
        rows["mission-fr-baku"]["open_protests_handed_to"],
    ) == (1, 1)


async def test_a_protest_and_a_note_show_how_the_text_dates_them(
    seeded: AsyncTestClient[Any],
) -> None:
    # now, at a day, and known now (read from the index of versions in time): the protest
    # and the note are dated to the day, so shown as that day, not as midnight UTC
    for query in ({}, {"as_of": "2022-09-20T00:00:00Z"}, {"known_at": "2999-01-01T00:00:00Z"}):
        protests = (await seeded.get("/projections/open-protests", params=query)).json()
        (protest,) = [
            p
            for p in protests["protests"]
            if p["stream_id"] == "protest-az-2022-09-19-paris-embassy-attack"
        ]
        assert (protest["occurred_precision"], protest["occurred_label"]) == ("day", "2022-09-19")
        notes = await seeded.get("/missions/mission-az-paris/unanswered-notes", params=query)
        (paris,) = notes.json()["missions"]
        (note,) = [
            n for n in paris["sent"]["notes"] if n["stream_id"] == "note-az-paris-2022-08-17"
        ]
        assert (note["occurred_precision"], note["occurred_label"]) == ("day", "2022-08-17"), query
