"""The desk's views: a mission's timeline, statements, response times, relations; search.

``include=sources`` puts each row's citations (document and quote) beside it; the timeline's
items carry theirs always. ``as_of`` and ``known_at`` give a view at a moment, as on every
projection: the statements, response times and relations are folded from the states the
views in time give for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from incidents.http.problems import QUERY_PROBLEMS, READ_PROBLEMS, ParameterError
from incidents.http.projections import (
    MISSION_PATTERN,
    AsOfQuery,
    DatesQuery,
    Include,
    KnownAtQuery,
    _page,
    moment,
)
from incidents.projections.desk import (
    RelationsView,
    ResponseTimesView,
    StatementsView,
    TimelineView,
)
from incidents.projections.desk_index import DeskIndex, states_at
from incidents.projections.in_time import Moment
from incidents.projections.reader import Projections
from incidents.projections.search import (
    COUNT_CAP,
    MAX_QUERY,
    QueryError,
    SearchIndex,
    SearchResults,
)
from incidents.service import StreamNotFoundError
from incidents.store.protocol import STREAM_ID_MAX_LENGTH

MissionPath = Annotated[
    str, PathParameter(pattern=MISSION_PATTERN, max_length=STREAM_ID_MAX_LENGTH)
]
PositionCursor = Annotated[
    int | None,
    QueryParameter(ge=1, description="the previous page's next_after: the last event listed"),
]
StatementCursor = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^statement-[a-z0-9][a-z0-9-]*$(?!\n)",
        max_length=STREAM_ID_MAX_LENGTH,
        description="the previous page's next_after: the last statement listed",
    ),
]
V = TypeVar("V", StatementsView, ResponseTimesView, RelationsView, TimelineView)


def echoed(view: V, at: Moment) -> V:
    """The view with the moment it was computed for."""
    if at.is_now:
        return view
    return msgspec.structs.replace(view, as_of=at.as_of, known_at=at.known_at)


async def desk_states(
    projections: Projections, desk: DeskIndex, at: Moment, include: str | None
) -> dict[str, list[Any]] | None:
    """The full states a view is folded from: those at the moment ``at``, or now when
    sources are asked; None: the held view answers."""
    if not at.is_now:
        return await states_at(projections.past, at)
    if include:
        return await desk.full_states()
    return None


TimelineLimit = Annotated[int, QueryParameter(ge=1, le=500, description="events a page holds")]
StatementsLimit = Annotated[
    int, QueryParameter(ge=1, le=1000, description="statements a page holds")
]


class TimelineController(Controller):
    """``/missions/{mission_id}/timeline``."""

    path = "/missions"
    tags = ["desk"]

    @get(
        "/{mission_id:str}/timeline",
        summary="Every event touching a mission, in occurred order",
        responses=READ_PROBLEMS,
    )
    async def timeline(
        self,
        request: Request[Any, Any, Any],
        mission_id: MissionPath,
        desk: NamedDependency[DeskIndex],
        after: PositionCursor = None,
        limit: TimelineLimit = 50,
        include: Include = None,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
    ) -> Response[TimelineView]:
        """The mission's own events and those of the incidents, notes, protests and
        statements that name it (or were handed to it, or refer to a stream that does),
        oldest first, each with its date as the text gives it and its sources; at a moment,
        those that occurred by ``as_of`` and were recorded by ``known_at``."""
        at = moment(as_of, known_at, dates)
        async with desk.current() as index:
            known = None if at.known_at is None else await index.known_through(at.known_at)
            view = await index.timeline(
                mission_id, after, limit, as_of=at.as_of, known_through=known, rule=at.rule
            )
        if view is None:
            raise StreamNotFoundError(mission_id)
        return _page(request, echoed(view, at))


class DeskController(Controller):
    """``/projections/statements``, ``/projections/response-times``,
    ``/projections/relations``."""

    path = "/projections"
    tags = ["desk"]

    @get("/statements", summary="Statements and resolutions", responses=QUERY_PROBLEMS)
    async def statements(
        self,
        request: Request[Any, Any, Any],
        desk: NamedDependency[DeskIndex],
        projections: NamedDependency[Projections],
        made_by: Annotated[
            str | None,
            QueryParameter(
                name="state", pattern=r"^[A-Za-z]{2}$(?!\n)", description="ISO 3166-1 alpha-2"
            ),
        ] = None,
        made_by_body: Annotated[
            str | None, QueryParameter(name="body", min_length=2, max_length=200)
        ] = None,
        after: StatementCursor = None,
        limit: StatementsLimit = 100,
        include: Include = None,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
    ) -> Response[StatementsView]:
        """By the state or the body that made them, oldest first, each with what it
        responds to (``responds_to``: a stream of this log it is about)."""
        at = moment(as_of, known_at, dates)
        full = await desk_states(projections, desk, at, include)
        async with desk.current() as index:
            view = index.statements(
                full,
                sources=include is not None,
                state=made_by,
                body=made_by_body,
                after=after,
                limit=limit,
            )
        return _page(request, echoed(view, at))

    @get(
        "/response-times",
        summary="How host states and ministries answer notes and protests",
        responses=QUERY_PROBLEMS,
    )
    async def response_times(
        self,
        desk: NamedDependency[DeskIndex],
        projections: NamedDependency[Projections],
        include: Include = None,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
    ) -> ResponseTimesView:
        """Per host state and per ministry: notes sent, answered and unanswered; days to
        reply (median, 90th percentile); the share overdue (at ``as_of`` when given);
        police response minutes; protests' demands met, refused and open."""
        at = moment(as_of, known_at, dates)
        full = await desk_states(projections, desk, at, include)
        async with desk.current() as index:
            view = index.response_times(full, now=at.as_of, sources=include is not None)
        return echoed(view, at)

    @get(
        "/relations",
        summary="Each pair of states on the escalation ladder",
        responses=QUERY_PROBLEMS,
    )
    async def relations(
        self,
        desk: NamedDependency[DeskIndex],
        projections: NamedDependency[Projections],
        include: Include = None,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
    ) -> RelationsView:
        """Per pair of states, the highest rung reached (statement, note, protest, summons,
        recall), whether a recalled head of mission returned, and each rung's history."""
        at = moment(as_of, known_at, dates)
        full = await desk_states(projections, desk, at, include)
        async with desk.current() as index:
            view = index.relations(full, sources=include is not None)
        return echoed(view, at)


class SearchController(Controller):
    """``/search``: full text over titles, subjects, summaries, statements and quotes."""

    path = "/search"
    tags = ["desk"]

    @get("/", summary="Search the log's streams", responses=QUERY_PROBLEMS)
    async def search(
        self,
        request: Request[Any, Any, Any],
        search: NamedDependency[SearchIndex],
        q: Annotated[str, QueryParameter(max_length=MAX_QUERY, description='words and "phrases"')],
        category: Annotated[
            Literal["mission", "incident", "note", "protest", "statement"] | None,
            QueryParameter(description="only streams of this category"),
        ] = None,
        mission: Annotated[
            str | None, QueryParameter(pattern=MISSION_PATTERN, max_length=STREAM_ID_MAX_LENGTH)
        ] = None,
        offset: Annotated[int, QueryParameter(ge=0, le=100_000)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        exact_count: Annotated[
            bool,
            QueryParameter(
                description=f"count every match; by default counting stops past {COUNT_CAP:,}"
                " and count is then a lower bound (count_is_exact false)"
            ),
        ] = False,
    ) -> Response[SearchResults]:
        """Streams whose words match every word and phrase of ``q``, best first (a BM25
        score among the newest matches), each with a snippet whose matches are marked
        ``<mark>``; filtered by category and by the mission a stream names; ``offset`` and
        ``limit`` page. ``count`` is exact up to a cap (``count_is_exact``), or always with
        ``exact_count``."""
        try:
            results = await search.search(
                q, category, mission, offset, limit, exact_count=exact_count
            )
        except QueryError as error:
            raise ParameterError("query", "q", str(error)) from error
        return Response(results)
