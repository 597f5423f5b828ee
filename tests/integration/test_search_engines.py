"""Search kept in the append's transaction on every adapter: SQLite's FTS5 (the memory
store's tables are SQLite's too) and PostgreSQL's tsvector under a GIN index, over the
seeds. Each test reads given / when / then."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from incidents.domain.rules import DomainRules
from incidents.http.bodies import MultiAppendBody
from incidents.projections import search
from incidents.projections.inline import inline_projections
from incidents.projections.search import QueryError, SearchIndex
from incidents.seeding import load_into
from incidents.service import LogService
from incidents.store.postgres import PostgresEventStore
from incidents.store.protocol import EventStore
from tests.conftest import STORE_ADAPTERS, open_test_store
from tests.integration.test_store_postgres import URL, drop_schemas, server_answers

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# An incident whose title holds a word no seed does.
ZANZIBAR = {
    "stream_id": "incident-az-paris-zanzibar",
    "expected_version": "any",
    "events": [
        {
            "type": "IncidentReported",
            "occurred_at": "2022-10-01T00:00:00Z",
            "data": {"kind": "other", "title": "Zanzibar leaflets", "mission": "mission-az-paris"},
        }
    ],
}


@pytest.fixture(params=STORE_ADAPTERS)
async def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    """A store of each adapter keeping the search documents, holding the seeds."""
    store = await open_test_store(request.param, tmp_path, DomainRules(), inline_projections())
    try:
        await load_into(LogService(store), SEEDS)
        yield store
    finally:
        await store.close()


async def _ids(store: EventStore, q: str, **filters: str) -> list[str]:
    found = await SearchIndex(store).search(q, limit=100, **filters)
    assert found.count == len(found.results)
    return [hit.stream_id for hit in found.results]


async def test_a_word_of_a_quote_is_found_with_the_match_marked(seeded: EventStore) -> None:
    # given the seeds; when a word only a quote holds is searched
    found = await SearchIndex(seeded).search("Dashnaksutun")
    # then its stream is found, the word marked in the snippet
    assert [hit.stream_id for hit in found.results] == ["mission-az-paris"]
    assert "<mark>Dashnaksutun</mark>" in found.results[0].snippet
    assert found.results[0].title


async def test_a_title_match_ranks_first_and_ranks_rise(seeded: EventStore) -> None:
    found = await SearchIndex(seeded).search("threatening letters")
    assert found.results[0].stream_id == "incident-az-paris-threatening-letters"
    ranks = [hit.rank for hit in found.results]
    assert ranks == sorted(ranks)


async def test_filters_and_pages(seeded: EventStore) -> None:
    index = SearchIndex(seeded)
    everything = await index.search("embassy", limit=100)
    # a filter keeps what it names, and only that
    in_paris = await index.search("embassy", mission="mission-az-paris", limit=100)
    assert {hit.mission for hit in in_paris.results} == {"mission-az-paris"}
    assert 0 < in_paris.count < everything.count
    incidents = await index.search("embassy", category="incident", limit=100)
    assert {hit.category for hit in incidents.results} == {"incident"}
    assert incidents.count == len([hit for hit in everything.results if hit.category == "incident"])
    # pages of three, followed to the end, are the whole list in the same order
    paged: list[str] = []
    offset = 0
    while True:
        page = await index.search("embassy", limit=3, offset=offset)
        paged.extend(hit.stream_id for hit in page.results)
        if not page.has_more:
            break
        assert page.next_offset is not None
        offset = page.next_offset
    assert paged == [hit.stream_id for hit in everything.results]


async def test_an_append_changes_what_is_found(seeded: EventStore) -> None:
    # given a word no stream holds
    assert await _ids(seeded, "zanzibar") == []
    # when an incident says it
    body = msgspec.convert({"appends": [ZANZIBAR]}, MultiAppendBody)
    await LogService(seeded).append_many(body.appends)
    # then the next search finds it, by a prefix too, and not under another mission
    assert await _ids(seeded, "zanzibar") == ["incident-az-paris-zanzibar"]
    assert await _ids(seeded, "zanzi*") == ["incident-az-paris-zanzibar"]
    assert await _ids(seeded, "zanzibar", mission="mission-fr-baku") == []
    assert await _ids(seeded, '"zanzibar leaflets"') == ["incident-az-paris-zanzibar"]
    assert await _ids(seeded, '"leaflets zanzibar"') == []


async def test_query_syntax_of_either_engine_is_only_words(seeded: EventStore) -> None:
    index = SearchIndex(seeded)
    for q in ("embassy OR NEAR(paris) AND", "embassy & !paris | (x) <-> y:*", "{title}: embassy"):
        found = await index.search(q)
        assert found.count == len(found.results) == 0
    for q in ("", "  ", '"open', "*** ---"):
        with pytest.raises(QueryError):
            await index.search(q)


@pytest.mark.parametrize("adapter", ["sqlite", "postgres"])
async def test_a_log_written_before_search_existed_is_indexed_when_opened(
    adapter: str, tmp_path: Path
) -> None:
    schema = f"test_search_{uuid.uuid4().hex[:12]}"

    async def opened(with_search: bool) -> EventStore:
        projections = inline_projections() if with_search else []
        if adapter == "sqlite":
            return await open_test_store(adapter, tmp_path, DomainRules(), projections)
        if not server_answers():
            pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
        return await PostgresEventStore.open(
            URL, DomainRules(), schema=schema, projections=projections
        )

    try:
        # given a log seeded by a store that kept no search documents
        store = await opened(with_search=False)
        await load_into(LogService(store), SEEDS)
        await store.close()
        # when it is opened with search registered
        store = await opened(with_search=True)
        try:
            # then its documents were filled from the log
            assert await _ids(store, "Dashnaksutun") == ["mission-az-paris"]
        finally:
            await store.close()
    finally:
        if adapter == "postgres":
            await drop_schemas(schema)


async def test_a_broad_word_ranks_the_newest_streams_then_lists_the_older_newest_first(
    seeded: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every stream that holds "embassy", in the order the log opened them
    index = SearchIndex(seeded)
    everything = await index.search("embassy", limit=100)
    opened = [e.stream_id for e in await seeded.read_all(0, 10_000) if e.version == 1]
    holding = sorted((hit.stream_id for hit in everything.results), key=opened.index)
    # when a search ranks only three candidates
    monkeypatch.setattr(search, "CANDIDATES", 3)
    found = await index.search("embassy", limit=100)
    # then it counts every match, ranks the three opened last, then lists the others,
    # newest first
    assert found.count == everything.count == len(holding) > 5
    ids = [hit.stream_id for hit in found.results]
    assert set(ids[:3]) == set(holding[-3:])
    assert ids[3:] == holding[-4::-1]
    # and pages of two, across the boundary, give the same order, each stream once
    paged: list[str] = []
    while len(paged) < found.count:
        page = await index.search("embassy", limit=2, offset=len(paged))
        assert page.results
        paged.extend(hit.stream_id for hit in page.results)
    assert paged == ids and not page.has_more


async def test_past_the_cap_the_count_is_a_lower_bound_unless_an_exact_one_is_asked(
    seeded: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every stream that holds "embassy", counted exactly
    index = SearchIndex(seeded)
    everything = await index.search("embassy", limit=100)
    assert everything.count_is_exact and everything.count == len(everything.results) > 5
    # when counting stops past three matches (ranking two candidates)
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    monkeypatch.setattr(search, "CANDIDATES", 2)
    first = await index.search("embassy", limit=2)
    # then the count is a lower bound, said so, and more pages follow
    assert not first.count_is_exact and first.count == 3 and first.has_more
    # a count asked for exactly is exact
    exact = await index.search("embassy", limit=2, exact_count=True)
    assert exact.count_is_exact and exact.count == everything.count
    assert exact.results == first.results
    # pages followed to the end are every match once; the last says nothing more follows
    paged: list[str] = []
    page = first
    while True:
        paged.extend(hit.stream_id for hit in page.results)
        assert page.count >= len(paged)
        if not page.has_more:
            break
        page = await index.search("embassy", limit=2, offset=len(paged))
    assert sorted(paged) == sorted(hit.stream_id for hit in everything.results)
    assert page.count == everything.count
    # a word with no more matches than the cap is counted exactly
    assert await _ids(seeded, "Dashnaksutun") == ["mission-az-paris"]


async def test_the_candidates_are_scored_among_themselves(
    seeded: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the three streams opened last that hold "embassy", ranked as candidates
    index = SearchIndex(seeded)
    monkeypatch.setattr(search, "CANDIDATES", 3)
    before = await index.search("embassy", limit=3)
    # when a stream without the word is opened (the index holds one more document)
    body = msgspec.convert({"appends": [ZANZIBAR]}, MultiAppendBody)
    await LogService(seeded).append_many(body.appends)
    # then the candidates and their scores are as they were: nothing outside them counts
    assert (await index.search("embassy", limit=3)).results == before.results


async def test_every_part_of_the_order_shows_the_same_titles_and_snippets(
    seeded: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every stream that holds "embassy" with its title and snippet, all ranked
    index = SearchIndex(seeded)
    everything = await index.search("embassy", limit=100)
    shown = {hit.stream_id: (hit.title, hit.snippet) for hit in everything.results}
    assert all("<mark>" in snippet for _, snippet in shown.values())
    # when only three are ranked, so the others are listed after them, and when filtered
    monkeypatch.setattr(search, "CANDIDATES", 3)
    split = await index.search("embassy", limit=100)
    notes = await index.search("embassy", category="note", limit=100)
    # then each stream shows the title and snippet it shows when all are ranked
    assert len(split.results) == len(everything.results) > 3 and notes.results
    for hit in [*split.results, *notes.results]:
        assert (hit.title, hit.snippet) == shown[hit.stream_id]


@pytest.mark.parametrize("adapter", ["memory", "sqlite"])
async def test_the_index_kept_by_appends_is_the_one_a_rebuild_makes(
    adapter: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the seeds appended one by one (replies and corrections write a stream's
    # document again: the index keeps no copy of the documents, so each time the words of
    # the one before are taken out by themselves) and three candidates ranked, so that the
    # order of the streams opened last shows
    store = await open_test_store(adapter, tmp_path, DomainRules(), inline_projections())
    try:
        await load_into(LogService(store), SEEDS)
        # and an incident whose title a correction takes two words out of
        service = LogService(store)
        await service.append_many(msgspec.convert({"appends": [ZANZIBAR]}, MultiAppendBody).appends)
        (reported,) = await store.read_stream(ZANZIBAR["stream_id"])  # type: ignore[arg-type]
        correction = {
            "stream_id": ZANZIBAR["stream_id"],
            "expected_version": 1,
            "events": [
                {
                    "type": "IncidentCorrected",
                    "occurred_at": "2022-10-02T00:00:00Z",
                    "data": {
                        "corrects": str(reported.event_id),
                        "changes": {"title": "Pemba pamphlets"},
                        "reason": "The title was misread.",
                    },
                }
            ],
        }
        await service.append_many(
            msgspec.convert({"appends": [correction]}, MultiAppendBody).appends
        )
        assert await _ids(store, "zanzibar") == []
        assert await _ids(store, "pemba") == [ZANZIBAR["stream_id"]]
        rows = await store.list_streams_after(None, 10_000)
        words = sorted(
            {
                word.lower()
                for row in rows
                if row.category in search.CATEGORIES
                for part in msgspec.structs.astuple(search.document_of(row))[3:]
                for word in re.findall(r"\w+", part)
            }
        )
        assert len(words) > 100
        monkeypatch.setattr(search, "CANDIDATES", 3)
        index = SearchIndex(store)
        words += ["zanzibar", "leaflets"]
        kept = [await index.search(word, limit=100) for word in words]

        # when the index is rebuilt from the streams' rows
        await store.rebuild("search")

        # then every search finds the same streams, in the same order, with the same
        # titles, snippets and ranks
        assert [await index.search(word, limit=100) for word in words] == kept
    finally:
        await store.close()
