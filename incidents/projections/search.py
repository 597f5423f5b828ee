"""Full-text search over the log's streams: titles, subjects, summaries, statements, quotes.

One document per stream, made from its state (:func:`document_of`): its title (a title, a
subject, a name or else its summary), its text (summaries, descriptions, reasons, what it
is about, what a resolution calls for, perpetrators, replies) and the quotes of its sources.
The documents live in an SQLite FTS5 table (``unicode61`` tokenizer, accents folded) held
in memory per process and caught up with the log before each search as the other held
views are (the events after its checkpoint, their streams' rows read again). Results are
ranked by BM25 (title weighs 5, text 2, quotes 1) with a snippet whose matches are marked
``<mark>``.

A query is words and "quoted phrases"; every one must match (AND), a word ending in ``*``
matches as a prefix. Anything else (no word at all, an unbalanced quote, over 200
characters) is refused with :class:`QueryError`.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from incidents.store.protocol import EventStore, StreamRow, is_valid_stream_id

PAGE = 1000
MAX_QUERY = 200
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")


class QueryError(ValueError):
    """A search query that is empty or malformed."""


class _Reply(msgspec.Struct, frozen=True, gc=False):
    summary: str | None = None


class _Source(msgspec.Struct, frozen=True, gc=False):
    quote: str = ""


class _Searchable(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The fields of any state that search reads (every other field skipped)."""

    title: str | None = None
    subject: str | None = None
    name: str | None = None
    summary: str | None = None
    description: str | None = None
    about: str | None = None
    perpetrators: str | None = None
    reason: str | None = None
    closed_reason: str | None = None
    withdrawn_reason: str | None = None
    calls_for: list[str] = []
    reply: _Reply | None = None
    sources: list[_Source] = []
    mission: str | None = None


_decode = msgspec.json.Decoder(_Searchable).decode


class Document(msgspec.Struct, frozen=True):
    """What a stream is searched by."""

    stream_id: str
    category: str
    mission: str | None
    title: str
    text: str
    quotes: str


def document_of(row: StreamRow) -> Document:
    """A stream's search document, from its state."""
    state = _decode(row.state)
    title = state.title or state.subject or state.name or state.summary or ""
    # A reference to another stream is an id, not words of this one.
    about = None if state.about is None or is_valid_stream_id(state.about) else state.about
    parts: Iterable[str | None] = (
        state.summary,
        state.description,
        about,
        state.perpetrators,
        state.reason,
        state.closed_reason,
        state.withdrawn_reason,
        *state.calls_for,
        state.reply.summary if state.reply else None,
    )
    return Document(
        stream_id=row.stream_id,
        category=row.category,
        mission=row.mission,
        title=title,
        text="\n".join(part for part in parts if part),
        quotes="\n".join(source.quote for source in state.sources),
    )


def fts_query(text: str) -> str:
    """The FTS5 query for a user's query: every word and phrase quoted (so no character of
    it is FTS5 syntax), AND-ed; raises QueryError for an empty or malformed one."""
    if len(text) > MAX_QUERY:
        raise QueryError(f"q must be at most {MAX_QUERY} characters")
    if text.count('"') % 2:
        raise QueryError("q has an unbalanced double quote")
    terms = []
    for phrase, word in _TOKEN.findall(text):
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                terms.append('"' + " ".join(words) + '"')
            continue
        prefix = word.endswith("*")
        words = _WORD.findall(word)
        if not words:
            continue
        term = '"' + " ".join(words) + '"'
        terms.append(term + "*" if prefix and len(words) == 1 else term)
    if not terms:
        raise QueryError("q holds no word to search for")
    return " AND ".join(terms)


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    """One stream found: its title, a snippet with the matches marked, its rank (lower is
    better, BM25)."""

    stream_id: str
    category: str
    mission: str | None
    title: str
    snippet: str
    rank: float


class SearchResults(msgspec.Struct, frozen=True, kw_only=True):
    """A page of hits, best first; ``next_offset`` (with ``has_more``) is the next page."""

    q: str
    count: int
    results: list[Hit]
    next_offset: int | None = None
    has_more: bool = False


class SearchIndex:
    """The search documents of every stream, held in an in-memory FTS5 table."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._lock = asyncio.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "stream_id UNINDEXED, category UNINDEXED, mission UNINDEXED, title, text, quotes, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        self._rowid: dict[str, int] = {}
        self._position: int | None = None
        self._revision: int | None = None

    @asynccontextmanager
    async def current(self) -> AsyncIterator[SearchIndex]:
        """Catch up with the log, then search until the block ends."""
        async with self._lock:
            await self._catch_up()
            yield self

    def search(
        self,
        q: str,
        category: str | None = None,
        mission: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResults:
        """The hits of ``q`` (see :func:`fts_query`), filtered by category and mission."""
        match = fts_query(q)
        where = "docs MATCH ?"
        params: list[Any] = [match]
        if category is not None:
            where += " AND category = ?"
            params.append(category)
        if mission is not None:
            where += " AND mission = ?"
            params.append(mission)
        (count,) = self._db.execute(f"SELECT count(*) FROM docs WHERE {where}", params).fetchone()
        rows = self._db.execute(
            "SELECT stream_id, category, mission, title, "
            "snippet(docs, -1, '<mark>', '</mark>', '…', 12), bm25(docs, 0, 0, 0, 5, 2, 1) AS r "
            f"FROM docs WHERE {where} ORDER BY r LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        hits = [
            Hit(
                stream_id=sid,
                category=cat,
                mission=mis,
                title=title,
                snippet=snippet,
                rank=round(rank, 6),
            )
            for sid, cat, mis, title, snippet, rank in rows
        ]
        end = offset + len(hits)
        return SearchResults(q=q, count=count, results=hits, next_offset=end, has_more=end < count)

    async def _catch_up(self) -> None:
        revision = await self._store.snapshots_revision()
        if revision != self._revision or self._position is None:
            self._revision = revision
            await self._load()
            return
        after = self._position
        changed: set[str] = set()
        while True:
            events = await self._store.read_all(after, PAGE)
            changed.update(event.stream_id for event in events)
            if events:
                after = events[-1].position
            if len(events) < PAGE:
                break
        if changed:
            rows = await self._store.get_streams(sorted(changed))
            self._put(document_of(row) for row in rows.values())
        self._position = after

    async def _load(self) -> None:
        self._db.execute("DELETE FROM docs")
        self._rowid.clear()
        head = (await self._store.head()).position
        after: str | None = None
        while True:
            rows = await self._store.list_streams_after(after, PAGE)
            self._put(document_of(row) for row in rows)
            if len(rows) < PAGE:
                break
            after = rows[-1].stream_id
        # Appends made during the load are caught up by the next search.
        self._position = head

    def _put(self, documents: Iterable[Document]) -> None:
        with self._db:
            for doc in documents:
                old = self._rowid.get(doc.stream_id)
                if old is not None:
                    self._db.execute("DELETE FROM docs WHERE rowid = ?", (old,))
                cursor = self._db.execute(
                    "INSERT INTO docs (stream_id, category, mission, title, text, quotes) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (doc.stream_id, doc.category, doc.mission, doc.title, doc.text, doc.quotes),
                )
                self._rowid[doc.stream_id] = cursor.lastrowid or 0
