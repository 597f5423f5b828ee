"""HTTP conventions on every read: HEAD, ETags, Cache-Control, Link, gzip, CORS, CloudEvents."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from incidents.http.app import create_app
from incidents.settings import Settings
from tests.integration.test_http import (
    PARIS,
    Client,
    given_mission,
    note_sent,
    post,
)

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
]
CACHED_READS = READS[1:]

# Behaviour that goes through the store, checked on both engines.
ON_EACH_STORE = pytest.mark.parametrize("client", ["sqlite", "postgresql"], indirect=True)


def links(response: Any) -> dict[str, dict[str, list[str]]]:
    """rel → the query of its URL."""
    found = {}
    for part in response.headers.get("link", "").split(","):
        if not part.strip():
            continue
        url, rel = part.split(";")
        found[rel.strip().removeprefix('rel="').rstrip('"')] = parse_qs(
            urlsplit(url.strip()[1:-1]).query
        )
    return found


async def given_notes(client: Client, count: int) -> None:
    await given_mission(client)
    for index in range(count):
        response = await post(client, f"note-n{index}", note_sent())
        assert response.status_code == 201, response.text


@ON_EACH_STORE
@pytest.mark.parametrize("path", READS)
async def test_head_answers_every_get_with_its_headers_and_no_body(
    client: Client, path: str
) -> None:
    await given_mission(client)
    got = await client.get(path)
    head = await client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers.get("etag") == got.headers.get("etag")


@ON_EACH_STORE
@pytest.mark.parametrize("path", CACHED_READS)
async def test_every_read_has_an_etag_and_answers_304_to_it_weak_or_star(
    client: Client, path: str
) -> None:
    await given_mission(client)
    first = await client.get(path)
    etag = first.headers["etag"]
    assert first.headers["cache-control"]
    weak = etag if etag.startswith("W/") else f"W/{etag}"
    for held in (etag, weak, "*", f'"other", {etag}'):
        again = await client.get(path, headers={"if-none-match": held})
        assert again.status_code == 304, held
        assert again.content == b""
        assert again.headers["etag"] == etag
    other = await client.get(path, headers={"if-none-match": '"not-it"'})
    assert other.status_code == 200


@ON_EACH_STORE
async def test_an_etag_changes_when_what_it_names_changes(client: Client) -> None:
    await given_mission(client)
    before = (await client.get("/projections/missions")).headers["etag"]
    await post(client, "note-a", note_sent())
    after = await client.get("/projections/missions", headers={"if-none-match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before


@ON_EACH_STORE
async def test_a_full_page_of_the_log_is_immutable_and_the_last_is_not(client: Client) -> None:
    await given_notes(client, 4)
    full = await client.get("/events?after=0&limit=2")
    assert "immutable" in full.headers["cache-control"]
    assert "max-age=31536000" in full.headers["cache-control"]
    last = await client.get("/events?after=4&limit=2")
    assert last.headers["cache-control"] == "no-cache"
    stream_page = await client.get(f"/streams/{PARIS}/events?limit=1")
    assert "immutable" in stream_page.headers["cache-control"]


@ON_EACH_STORE
async def test_log_pages_link_next_prev_and_first(client: Client) -> None:
    await given_notes(client, 5)
    page = await client.get("/events?after=2&limit=2")
    rels = links(page)
    assert rels["next"]["after"] == ["4"]
    assert rels["prev"]["after"] == ["0"]
    assert "after" not in rels["first"]
    assert rels["next"]["limit"] == ["2"]
    first = links(await client.get("/events?limit=2"))
    assert "prev" not in first


@ON_EACH_STORE
async def test_stream_pages_link_next_prev_and_first(client: Client) -> None:
    await given_mission(client)
    summary = {
        "type": "CorrespondenceSummarized",
        "data": {"from": {"state": "AZ"}, "to": [{"state": "FR"}], "subject": "security"},
    }
    for _ in range(4):
        assert (await post(client, PARIS, summary)).status_code == 201
    page = await client.get(f"/streams/{PARIS}/events?from_version=3&limit=2")
    rels = links(page)
    assert rels["next"]["from_version"] == ["5"]
    assert rels["prev"]["from_version"] == ["1"]
    assert rels["first"]["direction"] == ["forward"]
    assert "from_version" not in rels["first"]


@ON_EACH_STORE
async def test_projection_pages_link_next_and_first(client: Client) -> None:
    await given_notes(client, 1)
    response = await client.get("/projections/unanswered-notes?limit=1")
    rels = links(response)
    assert "first" in rels


async def test_large_answers_are_gzipped_for_clients_that_accept_it(client: Client) -> None:
    await given_notes(client, 6)
    response = await client.get("/events", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["events"]
    small = await client.get("/health", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers


async def test_cors_is_off_by_default(client: Client) -> None:
    response = await client.get("/health", headers={"origin": "https://desk.example"})
    assert "access-control-allow-origin" not in response.headers


def _cors_app(tmp_path: Path, origins: str) -> Any:
    """An app with public reads and CORS on for ``origins``, on a fresh SQLite file."""
    return create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'cors.db'}",
            cors_origins=origins,
            public_reads=True,
        )
    )


async def test_cors_allows_the_configured_origins(tmp_path: Path) -> None:
    app = _cors_app(tmp_path, "https://desk.example, https://other.example")
    async with AsyncTestClient(app=app) as client:
        allowed = await client.get("/health", headers={"origin": "https://desk.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://desk.example"
        refused = await client.get("/health", headers={"origin": "https://evil.example"})
        assert refused.headers.get("access-control-allow-origin") != "https://evil.example"
        preflight = await client.options(
            "/events",
            headers={
                "origin": "https://desk.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code in (200, 204)
        assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_a_read_under_cors_still_varies_on_accept(tmp_path: Path) -> None:
    # Given CORS on for an origin, when a read that answers JSON or CSV is asked from it
    async with AsyncTestClient(app=_cors_app(tmp_path, "https://desk.example")) as client:
        origin = {"origin": "https://desk.example"}
        as_json = await client.get("/projections/missions", headers=origin)
        as_csv = await client.get("/projections/missions", headers={**origin, "accept": "text/csv"})
    # then each answer varies on Accept as well as on Origin (a cache keeps them apart)
    for response in (as_json, as_csv):
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://desk.example"
        varies = {part.strip().lower() for part in response.headers["vary"].split(",")}
        assert {"accept", "origin"} <= varies, response.headers["vary"]
    assert as_json.headers["etag"] != as_csv.headers["etag"]


@ON_EACH_STORE
async def test_the_log_as_cloudevents(client: Client) -> None:
    await given_notes(client, 1)
    plain = (await client.get("/events")).json()["events"]
    response = await client.get("/events", headers={"accept": "application/cloudevents-batch+json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cloudevents-batch+json")
    batch = response.json()
    assert len(batch) == len(plain) == 2
    for cloud, event in zip(batch, plain, strict=True):
        assert cloud["specversion"] == "1.0"
        assert cloud["id"] == event["event_id"]
        assert cloud["source"] == "http://testserver.local"
        assert cloud["subject"] == event["stream_id"]
        assert cloud["time"] == event["occurred_at"]
        assert cloud["type"] == event["type"]
        assert cloud["data"] == event["data"]
        assert cloud["datacontenttype"] == "application/json"
        assert cloud["position"] == event["position"]


@pytest.mark.parametrize("path", CACHED_READS)
async def test_representations_vary_on_accept_each_with_its_etag(client: Client, path: str) -> None:
    await given_mission(client)
    as_json = await client.get(path)
    as_csv = await client.get(path, headers={"accept": "text/csv"})
    by_format = await client.get(path, params={"format": "csv"})
    assert as_json.status_code == as_csv.status_code == by_format.status_code == 200
    for response in (as_json, as_csv, by_format):
        assert "accept" in response.headers.get("vary", "").lower().replace(" ", "").split(",")
    assert as_csv.headers["content-type"].startswith("text/csv")
    json_tag = as_json.headers["etag"]
    csv_tag = as_csv.headers.get("etag")
    assert csv_tag != json_tag
    # A tag held for one representation never answers 304 for the other.
    held_json = await client.get(path, headers={"accept": "text/csv", "if-none-match": json_tag})
    assert held_json.status_code == 200
    assert held_json.headers["content-type"].startswith("text/csv")
    if csv_tag is not None:
        held_csv = await client.get(path, headers={"if-none-match": csv_tag})
        assert held_csv.status_code == 200
        assert held_csv.headers["content-type"].startswith("application/json")
        again = await client.get(path, headers={"accept": "text/csv", "if-none-match": csv_tag})
        assert again.status_code == 304
        assert "accept" in again.headers.get("vary", "").lower()


async def test_the_log_as_cloudevents_varies_on_accept_with_its_own_etag(client: Client) -> None:
    await given_mission(client)
    batch = await client.get("/events", headers={"accept": "application/cloudevents-batch+json"})
    plain = await client.get("/events")
    assert "accept" in batch.headers.get("vary", "").lower()
    assert batch.headers["etag"] != plain.headers["etag"]
