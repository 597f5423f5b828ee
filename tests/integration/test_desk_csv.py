"""CSV: every projection and ``GET /events`` answer ``Accept: text/csv`` and ``?format=csv``
as RFC 4180 with a header row, nested values flattened by one rule."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.test_desk_views import seeded  # noqa: F401  (a fixture)

# Each view, and the list of its JSON body its CSV rows are.
VIEWS = {
    "/projections/incidents": "incidents",
    "/projections/open-protests": "protests",
    "/projections/unanswered-notes": "missions",
    "/projections/missions": "missions",
    "/projections/statements": "statements",
    "/projections/relations": "relations",
    "/missions/mission-az-paris/timeline": "items",
}


def _table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(("url", "rows"), sorted(VIEWS.items()))
async def test_every_view_is_csv_with_one_row_a_record(
    seeded: AsyncTestClient[Any],  # noqa: F811
    url: str,
    rows: str,
) -> None:
    as_json = (await seeded.get(url)).json()
    by_param = await seeded.get(url, params={"format": "csv"})
    by_accept = await seeded.get(url, headers={"accept": "text/csv"})
    assert by_param.status_code == by_accept.status_code == 200
    assert by_param.headers["content-type"].startswith("text/csv")
    assert by_param.text == by_accept.text
    assert "\r\n" in by_param.text  # RFC 4180 line ends
    table = _table(by_param.text)
    assert len(table) == len(as_json[rows])
    # nested objects flatten into dotted columns, lists into their JSON text
    first = as_json[rows][0]
    for key, value in first.items():
        if isinstance(value, dict):
            assert any(column.startswith(f"{key}.") for column in table[0])
        elif isinstance(value, list) and value:
            assert json.loads(table[0][key]) == value
        elif value is None:
            assert table[0][key] == ""


async def test_response_times_give_both_tables_with_a_table_column(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    as_json = (await seeded.get("/projections/response-times")).json()
    table = _table((await seeded.get("/projections/response-times?format=csv")).text)
    assert [row["table"] for row in table] == ["by_host_state"] * len(as_json["by_host_state"]) + [
        "by_ministry"
    ] * len(as_json["by_ministry"])
    france = next(row for row in table if row["group"] == "FR")
    assert (france["notes_sent"], france["overdue_share"], france["demands_open"]) == (
        "1",
        "1.0",
        "4",
    )


async def test_events_stream_as_csv_with_fixed_columns(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    head = (await seeded.get("/health")).json()["head_position"]
    response = await seeded.get("/events", params={"format": "csv"})
    assert response.status_code == 200
    table = _table(response.text)
    # the whole log, not a page of it
    assert [int(row["position"]) for row in table] == list(range(1, head + 1))
    assert list(table[0]) == [
        "position", "stream_id", "version", "event_id", "type",
        "occurred_at", "recorded_at", "hash", "data", "metadata",
    ]  # fmt: skip
    assert json.loads(table[0]["data"])["city"] == "Paris"
    capped = _table((await seeded.get("/events?format=csv&limit=5&after=3")).text)
    assert [int(row["position"]) for row in capped] == [4, 5, 6, 7, 8]
    typed = _table((await seeded.get("/events?format=csv&type=ProtestLodged")).text)
    assert {row["type"] for row in typed} == {"ProtestLodged"}


async def test_a_bad_format_is_400_and_json_stays_the_default(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    bad = await seeded.get("/projections/missions", params={"format": "xml"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    post = await seeded.post("/events?format=csv", json={"appends": []})
    assert post.status_code == 400
    plain = await seeded.get("/projections/missions", params={"format": "json"})
    assert plain.headers["content-type"].startswith("application/json")


async def test_every_csv_row_of_events_holds_its_envelope(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    table = _table((await seeded.get("/events", params={"format": "csv"})).text)
    page = (await seeded.get("/events", params={"limit": 1000})).json()["events"]
    assert len(table) == len(page) > 0
    for row, event in zip(table, page, strict=True):
        assert int(row["position"]) == event["position"]
        assert int(row["version"]) == event["version"]
        for key in ("stream_id", "event_id", "type", "hash"):
            assert row[key] == event[key]
        for key in ("occurred_at", "recorded_at"):
            assert datetime.fromisoformat(row[key]) == datetime.fromisoformat(event[key])
        assert json.loads(row["data"]) == event["data"]
        assert json.loads(row["metadata"]) == event["metadata"]


async def test_a_stream_as_csv_is_its_state_in_one_row_and_its_pages_a_row_an_event(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    state = (await seeded.get("/streams/mission-az-paris")).json()
    response = await seeded.get("/streams/mission-az-paris", headers={"accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    [row] = _table(response.text)
    assert row["stream_id"] == state["stream_id"]
    assert int(row["version"]) == state["version"]
    assert row["state.city"] == state["state"]["city"]
    page = (await seeded.get("/streams/mission-az-paris/events")).json()["events"]
    table = _table((await seeded.get("/streams/mission-az-paris/events?format=csv")).text)
    assert [int(row["position"]) for row in table] == [event["position"] for event in page]
    assert table[0]["data.city"] == page[0]["data"]["city"]


@pytest.mark.parametrize("url", [*sorted(VIEWS), "/projections/response-times"])
async def test_a_view_with_no_row_still_has_its_header(
    seeded: AsyncTestClient[Any],  # noqa: F811
    url: str,
) -> None:
    # known before the seeding, every view is empty; its CSV still names its columns, the
    # same fields as the CSV of the view with rows
    empty = await seeded.get(url, params={"format": "csv", "known_at": "2000-01-01T00:00:00Z"})
    full = await seeded.get(url, params={"format": "csv"})
    assert empty.status_code == full.status_code == 200
    empty_reader = csv.DictReader(io.StringIO(empty.text, newline=""))
    assert list(empty_reader) == []
    full_reader = csv.DictReader(io.StringIO(full.text, newline=""))
    assert full_reader.fieldnames and empty_reader.fieldnames
    assert {c.split(".")[0] for c in empty_reader.fieldnames} == {
        c.split(".")[0] for c in full_reader.fieldnames
    }
