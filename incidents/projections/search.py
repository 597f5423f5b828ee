"""Full-text search over the log's streams: titles, subjects, summaries, statements, quotes.

One document per stream, made from its state (:func:`document_of`): its title (a title, a
subject, a name or else its summary), its text (summaries, descriptions, reasons, what it
is about, what a resolution calls for, perpetrators, replies) and the quotes of its sources.

The documents are an inline projection (:class:`SearchProjection`): the store writes them in
the append's transaction, so a search reflects every append acknowledged before it, in
every process, and a store opened on a log that holds events builds them from the log. Each
engine indexes them its own way:

- SQLite (and the memory store): a contentless FTS5 table (``unicode61`` tokenizer,
  accents folded: the documents' words, not the documents, which the states hold already)
  beside a table of each stream's row id, category, mission and column lengths. The
  category and mission are also words of a ``tags`` column that user queries never reach,
  so a filter is part of the FTS5 match and costs no lookup per match. Ranked by a BM25
  score computed among the candidates (title weighs 5, text 2, quotes 1; see
  :func:`_scored`), with a snippet whose matches are marked ``<mark>``, made by FTS5 from
  the page's documents made again from their states (:func:`_shown`).
- PostgreSQL: a ``tsvector`` column (``simple`` configuration: words lower-cased, no
  stemming; title weighted A, text B, quotes C) generated from the document, under a GIN
  index; ranked by ``ts_rank``, the snippet by ``ts_headline``.

Ranking looks at the :data:`CANDIDATES` most recently opened streams that match (all of
them when fewer match); the older matches follow them, newest first, so paging sees one
order. A word found in most of a large log is ranked among the newest streams holding it,
so ranking costs the same however long the log. ``count`` counts the matches up to
:data:`COUNT_CAP` (all of them on request), so counting does too.

A query is words and "quoted phrases"; every one must match (AND), a word ending in ``*``
matches as a prefix. Anything else (no word at all, an unbalanced quote, over 200
characters) is refused with :class:`QueryError`. ``rank`` is lower for a better match on
both engines (the score negated on SQLite; ``-ts_rank`` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec

from incidents.store.inline import InlineBatch, LastRowValues
from incidents.store.migrations import Migration
from incidents.store.protocol import EventStore, StreamRow, is_valid_stream_id
from incidents.store.writer import Statement

MAX_QUERY = 200
# How many of the newest matching streams a search ranks.
CANDIDATES = 1000
# How far a search counts its matches unless asked for an exact count: beyond it the count
# is a lower bound (``count_is_exact`` false). At least CANDIDATES, so that a capped count
# still tells whether older matches follow the ranked ones.
COUNT_CAP = 10_000
# The score of a candidate (see "ranked"): each column's weight (title, text, quotes) and
# BM25's saturation (k1) and length normalisation (b).
WEIGHTS = (5.0, 2.0, 1.0)
K1 = 1.2
B = 0.75
CATEGORIES = ("mission", "incident", "note", "protest", "statement")
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
    """A stream's search document, from its state. The SQLite index keeps no copy of the
    documents and takes a document's words out by the document itself, made again from the
    stream's previous state: a change to what this makes of a state needs a migration of
    the projection that rebuilds the index."""
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


# --- queries ------------------------------------------------------------------------------


class Term(NamedTuple):
    """One word or phrase a query asks for; ``prefix``: its last word as a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


def parse_query(text: str) -> list[Term]:
    """The words and phrases of a user's query; QueryError for an empty or malformed one.
    Nothing of it is syntax but quotes and a trailing ``*``: other characters separate
    words."""
    if len(text) > MAX_QUERY:
        raise QueryError(f"q must be at most {MAX_QUERY} characters")
    if text.count('"') % 2:
        raise QueryError("q has an unbalanced double quote")
    terms = []
    for phrase, word in _TOKEN.findall(text):
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                terms.append(Term(tuple(words)))
            continue
        words = _WORD.findall(word)
        if words:
            terms.append(Term(tuple(words), word.endswith("*") and len(words) == 1))
    if not terms:
        raise QueryError("q holds no word to search for")
    return terms


def fts_query(text: str) -> str:
    """The FTS5 query for a user's query: every word and phrase quoted (so no character of
    it is FTS5 syntax), AND-ed; raises QueryError for an empty or malformed one."""
    return " AND ".join(_fts_term(term) for term in parse_query(text))


def _fts_term(term: Term) -> str:
    return '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")


def ts_query(terms: Sequence[Term]) -> str:
    """The PostgreSQL ``to_tsquery`` text of a query's terms: words AND-ed, a phrase's
    words followed by one another (``<->``), a prefix ``:*``. The words are ``\\w`` runs, so
    none is tsquery syntax."""
    parts = []
    for term in terms:
        words = [word.lower() for word in term.words]
        if term.prefix:
            words[-1] += ":*"
        parts.append("(" + " <-> ".join(words) + ")" if len(words) > 1 else words[0])
    return " & ".join(parts)


def _tag(kind: str, value: str) -> str:
    """A filter value as one FTS5 token: ``c`` or ``m`` then its UTF-8 in hex (ids hold
    hyphens, which the tokenizer splits at)."""
    return kind + value.encode().hex()


def _tags(category: str, mission: str | None) -> str:
    return _tag("c", category) + (" " + _tag("m", mission) if mission else "")


def _filtered(match: str, category: str | None, mission: str | None) -> str:
    found = "{title body quotes} : (" + match + ")"
    if category is not None:
        found += ' AND {tags} : "' + _tag("c", category) + '"'
    if mission is not None:
        found += ' AND {tags} : "' + _tag("m", mission) + '"'
    return found


# --- the projection -----------------------------------------------------------------------

_SQLITE_MIGRATIONS = (
    Migration(
        1,
        "search documents in FTS5",
        (
            "CREATE TABLE {schema}.search_streams ("
            " id INTEGER PRIMARY KEY, stream_id TEXT NOT NULL UNIQUE,"
            " category TEXT NOT NULL, mission TEXT)",
            "CREATE VIRTUAL TABLE {schema}.search_index USING fts5("
            "title, body, quotes, tags, tokenize = 'unicode61 remove_diacritics 2')",
            "INSERT INTO {schema}.search_index (search_index, rank)"
            " VALUES ('rank', 'bm25(5.0, 2.0, 1.0, 0.0)')",
        ),
    ),
    # The index keeps no copy of the documents: each stream's state holds their words
    # already. What the reads took from the copy comes from elsewhere: the lengths that
    # ranking weighs from search_streams, the titles and snippets of a page from its
    # streams' states (see _shown).
    Migration(
        2,
        "search index without a copy of the documents",
        (
            "DROP TABLE {schema}.search_index",
            "ALTER TABLE {schema}.search_streams"
            " ADD COLUMN title_length INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE {schema}.search_streams ADD COLUMN body_length INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE {schema}.search_streams"
            " ADD COLUMN quotes_length INTEGER NOT NULL DEFAULT 0",
            "CREATE VIRTUAL TABLE {schema}.search_index USING fts5("
            "title, body, quotes, tags, content = '', columnsize = 0,"
            " tokenize = 'unicode61 remove_diacritics 2')",
        ),
        rebuilds=True,
    ),
)

# The oldest row id among the ``?4`` newest matches of ``?1``: where ranking starts.
_SQLITE_WINDOW = (
    "(SELECT coalesce(min(id), 0) FROM (SELECT rowid AS id FROM {schema}.search_index"
    " WHERE search_index MATCH ?1 ORDER BY rowid DESC LIMIT ?4))"
)
_COLUMNS = ("title", "body", "quotes")


def _scored(rows: str, order: str, limit: str = "") -> str:
    """The rows ``rows`` picks (the rest of a WHERE over the FTS5 table, with its order and
    limit), each with its score (``rank``), in ``order`` (of ``rank`` and ``id``) then
    ``limit``, joined to their stream: the page in one statement (its titles and snippets
    come from the streams' states, :func:`_shown`).

    The score is BM25 computed among the picked rows alone: for each column (``?5``,
    ``?6``, ``?7``: the query restricted to the title, the texts, the quotes) whether it
    matches, its length in characters (kept in search_streams) against its mean over the
    picked rows, its weight; no inverse document frequency, since every row holds every
    word and phrase of the query. Whether a column matches is one more FTS5 match over the
    picked rows' range of row ids. FTS5's own bm25() would count the rows holding each word
    over the whole index first, a walk as long as the log for a common word; this costs the
    rows picked."""
    lengths = ", ".join(f"s.{c}_length AS l{i}" for i, c in enumerate(_COLUMNS))
    means = ", ".join(f"max(avg(l{i}), 1.0) AS a{i}" for i in range(len(_COLUMNS)))
    score = " + ".join(
        f"{WEIGHTS[i]} * (id IN (SELECT rowid FROM {{schema}}.search_index"
        f" WHERE search_index MATCH ?{5 + i}"
        " AND rowid BETWEEN (SELECT low FROM means) AND (SELECT high FROM means)))"
        f" * {K1 + 1} / (1 + {K1} * ({1 - B} + {B} * l{i} / a{i}))"
        for i in range(len(_COLUMNS))
    )
    return (
        "WITH matched AS MATERIALIZED (SELECT rowid AS id FROM {schema}.search_index"
        " WHERE search_index MATCH ?1 " + rows + "),"
        " picked AS MATERIALIZED (SELECT m.id AS id, " + lengths + " FROM matched m"
        " JOIN {schema}.search_streams s ON s.id = m.id),"
        f" means AS MATERIALIZED (SELECT min(id) AS low, max(id) AS high, {means} FROM picked),"
        f" top AS MATERIALIZED (SELECT id, -({score}) AS rank FROM picked, means"
        f" ORDER BY {order} {limit})"
        " SELECT top.id AS id, s.stream_id, s.category, s.mission, top.rank AS rank"
        " FROM top JOIN {schema}.search_streams s ON s.id = top.id ORDER BY " + order
    )


_SQLITE = {
    # The streams keep their row ids, so that a rebuild keeps which were opened last (the
    # order ranking and paging go by); the rebuild writes every document again.
    "reset": "INSERT INTO {schema}.search_index (search_index) VALUES ('delete-all')",
    # rows: (stream_id, category, mission, title length, body length, quotes length)
    "put_streams": "INSERT INTO {schema}.search_streams (stream_id, category, mission,"
    " title_length, body_length, quotes_length) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (stream_id) DO UPDATE SET category = excluded.category,"
    " mission = excluded.mission, title_length = excluded.title_length,"
    " body_length = excluded.body_length, quotes_length = excluded.quotes_length",
    # rows: (title, body, quotes, tags, stream_id): a document as it was indexed. The index
    # keeps no copy of it, so taking a document's words out takes the words themselves.
    "drop_documents": "INSERT INTO {schema}.search_index"
    " (search_index, rowid, title, body, quotes, tags) VALUES ('delete',"
    " (SELECT id FROM {schema}.search_streams WHERE stream_id = ?5), ?1, ?2, ?3, ?4)",
    # rows: (title, body, quotes, tags, stream_id). One row of VALUES: an INSERT ... SELECT
    # opens a statement journal, and FTS5 (3.40) writes its pending words to disk as a new
    # segment at each statement savepoint, so one segment a document instead of one a
    # batch, and the merges those bring.
    "put_documents": "INSERT INTO {schema}.search_index (rowid, title, body, quotes, tags)"
    " VALUES ((SELECT id FROM {schema}.search_streams WHERE stream_id = ?5), ?1, ?2, ?3, ?4)",
    # (match, at most how many to count: -1 for all)
    "count": "SELECT count(*) FROM (SELECT 1 FROM {schema}.search_index"
    " WHERE search_index MATCH ?1 LIMIT ?2)",
    # (match, limit, offset, candidates, title match, texts match, quotes match): the ranked
    # part's rows, best first: the ?4 newest matches scored among themselves; id, stream_id,
    # category, mission, rank
    "ranked": _scored("ORDER BY rowid DESC LIMIT ?4", "rank, id DESC", "LIMIT ?2 OFFSET ?3"),
    # (the same): the rows older than the ranked part, newest first, each scored among the
    # rows of its page
    "older": _scored(
        "AND rowid < " + _SQLITE_WINDOW + " ORDER BY rowid DESC LIMIT ?2 OFFSET ?3",
        "id DESC",
    ),
}

_POSTGRES_MIGRATIONS = (
    Migration(
        1,
        "search documents with a tsvector",
        (
            "CREATE TABLE {schema}.search_documents ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " stream_id text NOT NULL UNIQUE, category text NOT NULL, mission text,"
            " title text NOT NULL, body text NOT NULL, quotes text NOT NULL,"
            " document tsvector GENERATED ALWAYS AS ("
            "  setweight(to_tsvector('simple', title), 'A')"
            "  || setweight(to_tsvector('simple', body), 'B')"
            "  || setweight(to_tsvector('simple', quotes), 'C')) STORED)",
            "CREATE INDEX search_documents_document ON {schema}.search_documents"
            " USING gin (document)",
        ),
    ),
)

_MATCHES = (
    " FROM {schema}.search_documents d"
    " WHERE d.document @@ to_tsquery('simple', $1)"
    " AND ($2::text IS NULL OR d.category = $2) AND ($3::text IS NULL OR d.mission = $3)"
)

_HEADLINE = (
    " ts_headline('simple', concat_ws(E'\\n', d.title, d.body, d.quotes),"
    " to_tsquery('simple', $1), 'StartSel=<mark>, StopSel=</mark>, MinWords=6, MaxWords=14')"
)

_POSTGRES = {
    "reset": "DELETE FROM {schema}.search_documents",
    # rows: (stream_id, category, mission, title, body, quotes)
    "put_documents": "INSERT INTO {schema}.search_documents"
    " (stream_id, category, mission, title, body, quotes)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[])"
    " ON CONFLICT (stream_id) DO UPDATE SET category = excluded.category,"
    " mission = excluded.mission, title = excluded.title, body = excluded.body,"
    " quotes = excluded.quotes",
    # (tsquery, category, mission, at most how many to count: NULL for all)
    "count": "SELECT count(*) FROM (SELECT 1" + _MATCHES + " LIMIT $4) AS matches",
    # (tsquery, category, mission, limit, offset, candidates): the ranked part's rows, best
    # first: id, stream_id, category, mission, title, snippet, rank
    "ranked": "WITH candidates AS (SELECT d.id, d.document" + _MATCHES + " ORDER BY d.id DESC"
    " LIMIT $6), ranked AS (SELECT id, ts_rank(document, to_tsquery('simple', $1)) AS rank"
    " FROM candidates ORDER BY rank DESC, id DESC LIMIT $4 OFFSET $5)"
    " SELECT d.id, d.stream_id, d.category, d.mission, d.title," + _HEADLINE + ", -r.rank::float8"
    " FROM ranked r JOIN {schema}.search_documents d ON d.id = r.id"
    " ORDER BY r.rank DESC, r.id DESC",
    # (tsquery, category, mission, limit, offset, candidates): the rows older than the
    # ranked part, newest first
    "older": "WITH window_ AS (SELECT d.id" + _MATCHES + " ORDER BY d.id DESC LIMIT $6),"
    " older AS (SELECT d.id" + _MATCHES + " AND d.id < (SELECT min(id) FROM window_)"
    " ORDER BY d.id DESC LIMIT $4 OFFSET $5)"
    " SELECT d.id, d.stream_id, d.category, d.mission, d.title," + _HEADLINE + ","
    " -ts_rank(d.document, to_tsquery('simple', $1))::float8"
    " FROM older o JOIN {schema}.search_documents d ON d.id = o.id ORDER BY d.id DESC",
}


class SearchProjection:
    """The search documents, kept by the store in the append's transaction: every stream a
    batch changes has its document written again when its words changed."""

    name = "search"
    handles: frozenset[str] = frozenset()
    # A document is made from the stream's row alone.
    rebuild_from = "rows"

    def __init__(self) -> None:
        # An append's row before is the row after of its stream's previous append.
        self._document_of = LastRowValues(document_of)

    def sql(self, engine: str) -> Mapping[str, str]:
        """Its statements and reads for ``engine``."""
        return _POSTGRES if engine == "postgres" else _SQLITE

    def migrations(self, engine: str) -> Sequence[Migration]:
        """Its tables for ``engine``."""
        return _POSTGRES_MIGRATIONS if engine == "postgres" else _SQLITE_MIGRATIONS

    def handle(self, batch: InlineBatch) -> Iterable[Statement]:
        """The documents of the streams the batch changed whose words or filters moved."""
        changed = []
        dropped = []
        before_of, after_of = self._document_of.before, self._document_of.after
        for before, after in batch.streams().values():
            if after.category not in CATEGORIES:
                continue
            was = None if before is None else before_of(before)
            document = after_of(after)
            if was is None or document != was:
                changed.append(document)
                if was is not None:
                    dropped.append(was)
        if not changed:
            return
        if batch.engine == "postgres":
            yield Statement(
                "put_documents",
                rows=[
                    (d.stream_id, d.category, d.mission, d.title, d.text, d.quotes) for d in changed
                ],
            )
            return
        # The words a document was indexed with are those of the stream's row before the
        # batch (its document is written again whenever they change).
        if dropped:
            yield Statement("drop_documents", rows=[_indexed(d) for d in dropped])
        yield Statement(
            "put_streams",
            rows=[
                (d.stream_id, d.category, d.mission, len(d.title), len(d.text), len(d.quotes))
                for d in changed
            ],
        )
        yield Statement("put_documents", rows=[_indexed(d) for d in changed])


def _indexed(document: Document) -> tuple[str, str, str, str, str]:
    """A document's columns as the index takes them: title, body, quotes, tags, stream id."""
    tags = _tags(document.category, document.mission)
    return (document.title, document.text, document.quotes, tags, document.stream_id)


# --- the read side ------------------------------------------------------------------------


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    """One stream found: its title, a snippet with the matches marked, its rank (lower is
    better)."""

    stream_id: str
    category: str
    mission: str | None
    title: str
    snippet: str
    rank: float


class SearchResults(msgspec.Struct, frozen=True, kw_only=True):
    """A page of hits, best first; ``next_offset`` (with ``has_more``) is the next page.

    ``count`` is the number of matches when ``count_is_exact``; otherwise more than
    :data:`COUNT_CAP` match and ``count`` is a lower bound: the cap, or the matches up to
    the end of this page and one more when more follow it."""

    q: str
    count: int
    results: list[Hit]
    next_offset: int | None = None
    has_more: bool = False
    count_is_exact: bool = True


class SearchIndex:
    """Searches through the store's reads of :class:`SearchProjection`."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def search(
        self,
        q: str,
        category: str | None = None,
        mission: str | None = None,
        offset: int = 0,
        limit: int = 20,
        *,
        exact_count: bool = False,
    ) -> SearchResults:
        """The hits of ``q`` (see :func:`parse_query`), filtered by category and by the
        mission a stream names, ``limit`` from ``offset``; matches counted up to
        :data:`COUNT_CAP`, or all of them with ``exact_count``."""
        cap = None if exact_count else COUNT_CAP
        rows, counted, has_more = await self._rows(
            parse_query(q), category, mission, offset, limit, cap
        )
        hits = [
            Hit(
                stream_id=stream_id,
                category=found_category,
                mission=found_mission,
                title=title,
                snippet=snippet,
                rank=round(rank, 6),
            )
            for stream_id, found_category, found_mission, title, snippet, rank in rows
        ]
        end = offset + len(hits)
        if cap is None or counted <= cap:
            exact, count = True, counted
        elif hits and not has_more:
            # The page reached the last match: the count is where it ends.
            exact, count = True, end
        else:
            exact, count = False, max(cap, end + has_more)
        return SearchResults(
            q=q,
            count=count,
            results=hits,
            next_offset=end,
            has_more=has_more,
            count_is_exact=exact,
        )

    async def _rows(
        self,
        terms: Sequence[Term],
        category: str | None,
        mission: str | None,
        offset: int,
        limit: int,
        cap: int | None,
    ) -> tuple[list[tuple[Any, ...]], int, bool]:
        """The page's (stream id, category, mission, title, snippet, rank), the count of the
        matches (up to ``cap + 1`` of them when ``cap`` is given) and whether more rows
        follow the page (a row past it was read)."""
        read = self._store.query
        postgres = self._store.engine == "postgres"
        # Ranking on SQLite also asks which of its columns each row matches in.
        columns: tuple[str, ...] = ()
        unfiltered = ""
        if postgres:
            match = ts_query(terms)
            filters: tuple[object, ...] = (match, category, mission)
            counting = (*filters, None if cap is None else cap + 1)
        else:
            words = " AND ".join(_fts_term(term) for term in terms)
            match = _filtered(words, category, mission)
            filters = (match,)
            counting = (match, -1 if cap is None else cap + 1)
            columns = tuple("{" + column + "} : (" + words + ")" for column in _COLUMNS)
            unfiltered = _filtered(words, None, None)
        # The CANDIDATES newest matches come first, ranked; the older ones after them,
        # newest first: one order, whatever the page. Each read returns its rows (on
        # PostgreSQL with their titles and snippets); counting runs beside the ranking, on
        # another of the store's readers, so a first page is two reads at once.
        counted = read("search", "count", counting)
        wanted = limit + 1
        page: list[tuple[Any, ...]] = []
        if offset < CANDIDATES:
            first = min(wanted, CANDIDATES - offset)
            ranked = read("search", "ranked", (*filters, first, offset, CANDIDATES, *columns))
            ((count,),), found = await asyncio.gather(counted, ranked)
            page += found
        else:
            ((count,),) = await counted
        # A count capped at COUNT_CAP + 1 >= CANDIDATES + 1 still says whether older matches
        # follow the ranked ones.
        if offset + wanted > CANDIDATES and count > CANDIDATES:
            skip = max(0, offset - CANDIDATES)
            older = (*filters, wanted - len(page), skip, CANDIDATES, *columns)
            page += await read("search", "older", older)
        more = len(page) > limit
        if postgres:
            return [row[1:] for row in page[:limit]], count, more
        return await _shown(self._store, page[:limit], unfiltered), count, more


# The page's documents, indexed for FTS5's snippet(): the same tokenizer and columns as the
# log's index, so a snippet is what the index's own would be (FTS5 makes one from the
# row's words and the query's matches in them alone).
_PAGE_INDEX = (
    "CREATE VIRTUAL TABLE page USING fts5(title, body, quotes, tags,"
    " tokenize = 'unicode61 remove_diacritics 2')"
)
_PAGE_SNIPPETS = (
    "SELECT rowid, snippet(page, -1, '<mark>', '</mark>', '…', 12) FROM page"
    " WHERE page MATCH ? ORDER BY rowid"
)


async def _shown(
    store: EventStore, rows: Sequence[tuple[Any, ...]], match: str
) -> list[tuple[Any, ...]]:
    """The SQLite rows of a page (id, stream_id, category, mission, rank) as hits (stream
    id, category, mission, title, snippet, rank): the log's index keeps no copy of the
    documents, so the page's are made again from its streams' states, and their snippets
    by FTS5 from them (``match``: the query without its filters)."""
    if not rows:
        return []
    streams = await store.get_streams([row[1] for row in rows])
    documents = [document_of(streams[row[1]]) if row[1] in streams else None for row in rows]
    snippets: dict[int, str] = {}
    with contextlib.closing(sqlite3.connect(":memory:")) as page:
        page.execute(_PAGE_INDEX)
        page.executemany(
            "INSERT INTO page (rowid, title, body, quotes) VALUES (?, ?, ?, ?)",
            [
                (index, d.title, d.text, d.quotes)
                for index, d in enumerate(documents)
                if d is not None
            ],
        )
        snippets.update(page.execute(_PAGE_SNIPPETS, (match,)).fetchall())
    return [
        (
            row[1],
            row[2],
            row[3],
            "" if document is None else document.title,
            snippets.get(index, ""),
            row[4],
        )
        for index, (row, document) in enumerate(zip(rows, documents, strict=True))
    ]
