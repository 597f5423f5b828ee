"""GET /search: full text over the streams' titles, texts and quotes, ranked, highlighted,
filtered, paged; a bad query is a 400."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from bench.generate import planned_events, write_events
from incidents.domain.rules import DomainRules
from incidents.http.dashboard import pages
from incidents.projections import search
from incidents.projections.inline import inline_projections
from incidents.projections.search import (
    MAX_QUERY,
    QueryError,
    SearchIndex,
    document_of,
    fts_query,
)
from incidents.settings import Settings
from incidents.store.factory import open_store
from tests.integration.test_desk_views import seeded  # noqa: F401  (a fixture)
from tests.integration.test_search_engines import ZANZIBAR


async def _search(client: AsyncTestClient[Any], **query: Any) -> Any:
    response = await client.get("/search", params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_word_of_a_quote_finds_its_stream_with_the_match_marked(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    body = await _search(seeded, q="Dashnaksutun")
    assert [hit["stream_id"] for hit in body["results"]] == ["mission-az-paris"]
    assert "<mark>Dashnaksutun</mark>" in body["results"][0]["snippet"]
    natavan = await _search(seeded, q="natavan", category="incident")
    assert [hit["stream_id"] for hit in natavan["results"]] == [
        "incident-fr-natavan-monument-vandalism"
    ]


async def test_a_title_match_ranks_above_a_quote_match(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    body = await _search(seeded, q="threatening letters")
    ids = [hit["stream_id"] for hit in body["results"]]
    assert ids[0] == "incident-az-paris-threatening-letters"
    ranks = [hit["rank"] for hit in body["results"]]
    assert ranks == sorted(ranks)


async def test_filters_by_category_and_mission_and_pages(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    everything = await _search(seeded, q="embassy", limit=100)
    in_paris = await _search(seeded, q="embassy", mission="mission-az-paris", limit=100)
    assert {hit["mission"] for hit in in_paris["results"]} == {"mission-az-paris"}
    assert 0 < in_paris["count"] < everything["count"]
    incidents = await _search(seeded, q="embassy", category="incident", limit=100)
    assert {hit["category"] for hit in incidents["results"]} == {"incident"}
    paged: list[str] = []
    offset = 0
    while True:
        page = await _search(seeded, q="embassy", limit=3, offset=offset)
        paged.extend(hit["stream_id"] for hit in page["results"])
        if not page["has_more"]:
            break
        offset = page["next_offset"]
    assert paged == [hit["stream_id"] for hit in everything["results"]]


@pytest.mark.parametrize("q", ["", "   ", '"unbalanced', "---", "x" * 201])
async def test_an_empty_or_malformed_query_is_400(
    seeded: AsyncTestClient[Any],  # noqa: F811
    q: str,
) -> None:
    response = await seeded.get("/search", params={"q": q})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_no_query_is_400_and_fts_syntax_is_only_words(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    assert (await seeded.get("/search")).status_code == 400
    # FTS5 operators in a query are words to look for, not syntax
    body = await _search(seeded, q="embassy OR NEAR(paris) AND")
    assert body["count"] == 0
    assert fts_query('paris "the embassy" emb*') == '"paris" AND "the embassy" AND "emb"*'
    with pytest.raises(QueryError):
        fts_query("***")


async def test_an_append_is_found_by_the_next_search(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    assert (await _search(seeded, q="zanzibar"))["count"] == 0
    assert (await seeded.post("/events", json={"appends": [ZANZIBAR]})).status_code == 201
    found = await _search(seeded, q="zanzibar")
    assert [hit["stream_id"] for hit in found["results"]] == ["incident-az-paris-zanzibar"]


async def test_over_a_generated_log_the_counts_equal_a_scan_of_the_documents(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gen.db'}", reply_window_days=30)
    store = await open_store(
        settings.database_url, DomainRules(), settings, projections=inline_projections()
    )
    try:
        _, events = planned_events(2000, seed=5, missions=8)
        await write_events(store, events)
        rows = await store.list_streams_after(None, 100_000)
        documents = [document_of(row) for row in rows]
        index = SearchIndex(store)
        words = {"embassy", "police", "demonstration", "note", "investigation"}
        matched = 0
        for word in words:
            expected = {
                d.stream_id
                for d in documents
                if re.search(rf"\b{word}\b", f"{d.title} {d.text} {d.quotes}", re.I)
            }
            found = await index.search(word, limit=100)
            assert found.count == len(expected), word
            assert {hit.stream_id for hit in found.results} <= expected
            matched += len(expected)
        assert matched > 0
    finally:
        await store.close()


async def test_the_document_declares_the_longest_query_the_server_takes(
    seeded: AsyncTestClient[Any],  # noqa: F811
) -> None:
    document = (await seeded.get("/schema/openapi.json")).json()
    (q,) = [p for p in document["paths"]["/search"]["get"]["parameters"] if p["name"] == "q"]
    assert q["schema"]["maxLength"] == MAX_QUERY
    assert (await seeded.get("/search", params={"q": "a" * MAX_QUERY})).status_code == 200
    longer = await seeded.get("/search", params={"q": "a" * (MAX_QUERY + 1)})
    assert longer.status_code == 400
    assert longer.headers["content-type"].startswith("application/problem+json")


async def test_the_count_says_whether_it_is_exact_and_an_exact_one_can_be_asked(
    seeded: AsyncTestClient[Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given counting that stops past three matches
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    monkeypatch.setattr(search, "CANDIDATES", 2)
    # then a broad word's count is a lower bound, and says so
    capped = await _search(seeded, q="embassy", limit=2)
    assert capped["count_is_exact"] is False and capped["count"] == 3 and capped["has_more"]
    # an exact count is there on request
    exact = await _search(seeded, q="embassy", limit=2, exact_count="true")
    assert exact["count_is_exact"] is True and exact["count"] > 3
    assert exact["results"] == capped["results"]
    # and the dashboard, showing two hits, says "or more"
    monkeypatch.setattr(pages, "SEARCH_HITS", 2)
    page = await seeded.get("/dashboard/search", params={"q": "embassy"})
    assert page.status_code == 200 and "3 or more found" in page.text
    # a value the parameter cannot take is refused
    refused = await seeded.get("/search", params={"q": "embassy", "exact_count": "maybe"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
