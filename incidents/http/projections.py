"""Read models: unanswered notes, open protests, incidents, missions.

The views whose answer grows with the log come a page at a time, as ``GET /events`` does:
``after`` and ``limit`` in the query, ``next_after`` and ``has_more`` in the body, and a
``Link: <...>; rel="next"`` header while there is more. ``include=sources`` puts each row's
citations (document and quote) beside it, read from the rows' streams after the view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Concatenate, Literal, ParamSpec, TypeVar

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from incidents.domain.events import IncidentKind, Source
from incidents.domain.state import decode_state
from incidents.domain.times import DateRule
from incidents.http.bodies import AwareDatetime
from incidents.http.conventions import page_link, read_response
from incidents.http.problems import PAGE_PROBLEMS, QUERY_PROBLEMS, ParameterError
from incidents.projections.in_time import Moment
from incidents.projections.incidents_by_mission import IncidentFilter, IncidentRow, IncidentsView
from incidents.projections.missions import MissionSummary, MissionsView
from incidents.projections.open_protests import OpenProtest, OpenProtestsView, ProtestFilter
from incidents.projections.reader import Projections
from incidents.projections.unanswered_notes import UnansweredNote, UnansweredNotesView
from incidents.store.protocol import STREAM_ID_MAX_LENGTH, is_valid_stream_id

MISSION_PATTERN = r"^mission-[a-z0-9][a-z0-9-]*$(?!\n)"


def _stream_id(
    category: str, description: str, example: str | None = None, kind: Any = QueryParameter
) -> Any:
    """A parameter naming a stream of one category, as a query or path parameter."""
    return kind(
        pattern=rf"^{category}-[a-z0-9][a-z0-9-]*$(?!\n)",
        max_length=STREAM_ID_MAX_LENGTH,
        description=description,
        examples=None if example is None else [Example(value=example)],
    )


MissionQuery = Annotated[
    str | None,
    _stream_id("mission", "Only what concerns this mission (its stream id)", "mission-az-paris"),
]
MissionPath = Annotated[
    str, _stream_id("mission", "The mission's stream id", "mission-az-paris", PathParameter)
]
TimeQuery = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        schema_extra={"format": "date-time"},
        description="RFC 3339 time with an offset",
        examples=[Example(value="2022-09-18T00:00:00Z")],
    ),
]
_decode_time = msgspec.json.Decoder(AwareDatetime).decode
DatesQuery = Annotated[
    DateRule | None,
    QueryParameter(
        description="how since/until and as_of take a loosely dated fact, one rule for the "
        "request: certain (its whole span in the range; by as_of, ended by then) or possible "
        "(any part of it; by as_of, begun by then). Unset: since/until read certain, as_of "
        "possible"
    ),
]

# A party filter matches an ISO 3166 code or a body's name.
PartyFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=2,
        max_length=200,
        description="A party's ISO 3166 state code or body, matched case-insensitively",
        examples=[Example(value="AZ")],
    ),
]
StateCode = Annotated[
    str | None, QueryParameter(pattern=r"^[A-Za-z]{2}$(?!\n)", description="ISO 3166-1 alpha-2")
]


# A page's cursor: the last mission, protest or incident the previous page listed.
_CURSOR = "the previous page's next_after: the last {} it listed"
MissionCursor = Annotated[str | None, _stream_id("mission", _CURSOR.format("mission"))]
ProtestCursor = Annotated[str | None, _stream_id("protest", _CURSOR.format("protest"))]
IncidentCursor = Annotated[str | None, _stream_id("incident", _CURSOR.format("incident"))]
# How much a page holds by default, and at most.
MISSIONS_PAGE, MISSIONS_PAGE_MAX = 5, 50
ROWS_PAGE, ROWS_PAGE_MAX = 100, 1000
MissionsLimit = Annotated[
    int,
    QueryParameter(ge=1, le=MISSIONS_PAGE_MAX, description="missions a page holds"),
]
RowsLimit = Annotated[int, QueryParameter(ge=1, le=ROWS_PAGE_MAX, description="rows a page holds")]

V = TypeVar("V", bound=msgspec.Struct)


def _page(request: Request[Any, Any, Any], view: V) -> Response[V]:
    """The view with its ETag and Links to the first page and the next one when it has one
    (as ``GET /events``). A cursor names the last row listed, so there is no link back."""
    next_after = getattr(view, "next_after", None)
    more = getattr(view, "has_more", False) and next_after is not None
    links = {
        "next": page_link(request, after=next_after) if more else None,
        "first": page_link(request, after=None),
    }
    return read_response(request, view, links=links)


def _time(name: str, value: str | None) -> datetime | None:
    """An RFC 3339 time with its offset; the query string's lax parsing would take numbers."""
    if value is None:
        return None
    try:
        return _decode_time(msgspec.json.encode(value))
    except msgspec.ValidationError as error:
        raise ParameterError(
            "query", name, f"{name} must be an RFC 3339 time with an offset: {error}"
        ) from error


def _moment_query(description: str, example: str) -> Any:
    return QueryParameter(
        max_length=64,
        description=f"RFC 3339 time with an offset: {description}",
        examples=[Example(value=example)],
    )


AsOfQuery = Annotated[
    str | None,
    _moment_query(
        "only events that occurred by it (a loosely dated one by the dates rule: possible, "
        "the default, once its span can have begun; certain, once it has ended)",
        "2022-09-20T00:00:00Z",
    ),
]
KnownAtQuery = Annotated[
    str | None, _moment_query("only events recorded at or before it", "2026-12-01T00:00:00Z")
]


def moment(as_of: str | None, known_at: str | None, dates: DateRule | None = None) -> Moment:
    """The moment a view is asked for (both None: now); a malformed time is a 400.
    ``as_of`` keeps a loosely dated event by ``dates``, ``possible`` when unset (an event
    dated by a point or a precision from its occurred time, as before the rule)."""
    return Moment(_time("as_of", as_of), _time("known_at", known_at), dates or "possible")


P = ParamSpec("P")
R = TypeVar("R")


def read_at(
    as_of: str | None,
    known_at: str | None,
    now: Callable[P, Awaitable[R]],
    past: Callable[Concatenate[Moment, P], Awaitable[R]],
    dates: DateRule | None = None,
) -> Callable[P, Awaitable[R]]:
    """The read of a view at the :func:`moment` the query asks for: ``now`` (the view kept
    up to date) when it is now, else ``past`` (folded for that moment)."""
    at = moment(as_of, known_at, dates)
    if at.is_now:
        return now
    return partial(past, at)


Include = Annotated[
    Literal["sources"] | None,
    QueryParameter(description="sources: each row's citations (document and quote)"),
]


async def sources_of(
    projections: Projections, stream_ids: Iterable[str], at: Moment
) -> dict[str, list[Source]]:
    """Each stream's citations as its state holds them: now, or at the moment ``at`` (the
    stream folded from the events it keeps)."""
    wanted = sorted(set(stream_ids))
    if not wanted:
        return {}
    if at.is_now:
        rows = await projections.past.store.get_streams(wanted)
        return {
            stream_id: list(decode_state(row.category, row.state).sources)
            for stream_id, row in rows.items()
        }
    folded = await asyncio.gather(*(projections.past.stream(s, at) for s in wanted))
    return {f.stream_id: list(f.state.sources) for f in folded if f is not None}


R_ = TypeVar("R_", IncidentRow, OpenProtest, UnansweredNote, MissionSummary)


def _cited(rows: Sequence[R_], found: dict[str, list[Source]], key: str = "stream_id") -> list[R_]:
    return [msgspec.structs.replace(row, sources=found.get(getattr(row, key), [])) for row in rows]


async def cited(
    projections: Projections, rows: Sequence[R_], at: Moment, key: str = "stream_id"
) -> list[R_]:
    """``rows`` with the sources of the stream each names by ``key``, at the moment ``at``."""
    found = await sources_of(projections, (getattr(row, key) for row in rows), at)
    return _cited(rows, found, key)


async def cite_notes(
    projections: Projections, view: UnansweredNotesView, at: Moment
) -> UnansweredNotesView:
    """The view with each note's sources."""
    sides = [side for row in view.missions for side in (row.sent, row.received)]
    found = await sources_of(projections, (n.stream_id for s in sides for n in s.notes), at)
    missions = [
        msgspec.structs.replace(
            row,
            sent=msgspec.structs.replace(row.sent, notes=_cited(row.sent.notes, found)),
            received=msgspec.structs.replace(row.received, notes=_cited(row.received.notes, found)),
        )
        for row in view.missions
    ]
    return msgspec.structs.replace(view, missions=missions)


def _mission(mission: str | None, name: str = "mission") -> str | None:
    if mission is not None and not (mission.startswith("mission-") and is_valid_stream_id(mission)):
        raise ParameterError("query", name, f"{mission!r} is not a mission stream id (mission-...)")
    return mission


class ProjectionController(Controller):
    """``/projections/...``: the dashboards' read models."""

    path = "/projections"
    tags = ["projections"]

    @get(
        "/unanswered-notes",
        summary="Unanswered notes per mission, both directions",
        responses=QUERY_PROBLEMS,
    )
    async def list_unanswered_notes(
        self,
        request: Request[Any, Any, Any],
        projections: NamedDependency[Projections],
        mission: MissionQuery = None,
        after: MissionCursor = None,
        limit: MissionsLimit = MISSIONS_PAGE,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
        include: Include = None,
    ) -> Response[UnansweredNotesView]:
        """Notes each mission sent that have no reply, and notes to it it has not answered:
        a page of missions in stream id order, each with all its notes."""
        read = read_at(
            as_of, known_at, projections.unanswered_notes, projections.past.unanswered_notes, dates
        )
        view = await read(_mission(mission), _mission(after), limit)
        if include:
            view = await cite_notes(projections, view, moment(as_of, known_at, dates))
        return _page(request, view)

    @get(
        "/open-protests",
        summary="Protests not closed, with their open demands",
        responses=PAGE_PROBLEMS,
    )
    async def list_open_protests(
        self,
        request: Request[Any, Any, Any],
        projections: NamedDependency[Projections],
        by: PartyFilter = None,
        to: PartyFilter = None,
        mission: MissionQuery = None,
        after: ProtestCursor = None,
        limit: RowsLimit = ROWS_PAGE,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
        include: Include = None,
    ) -> Response[OpenProtestsView]:
        """Filter by who lodged the protest (``by``), with whom (``to``), about which mission;
        oldest first, a page at a time."""
        read = read_at(
            as_of, known_at, projections.open_protests, projections.past.open_protests, dates
        )
        where = ProtestFilter(by=by, to=to, mission=_mission(mission))
        view = await read(where, after, limit)
        if include:
            at = moment(as_of, known_at, dates)
            protests = await cited(projections, view.protests, at)
            view = msgspec.structs.replace(view, protests=protests)
        return _page(request, view)

    @get(
        "/incidents",
        summary="Incidents by mission and host state over time",
        responses=PAGE_PROBLEMS,
    )
    async def list_incidents(
        self,
        request: Request[Any, Any, Any],
        projections: NamedDependency[Projections],
        mission: MissionQuery = None,
        host_state: StateCode = None,
        kind: Annotated[
            IncidentKind | None, QueryParameter(description="Only incidents of this kind")
        ] = None,
        since: TimeQuery = None,
        until: TimeQuery = None,
        after: IncidentCursor = None,
        limit: RowsLimit = ROWS_PAGE,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
        include: Include = None,
    ) -> Response[IncidentsView]:
        """Incidents filtered by mission, host state, kind and time of occurrence; newest
        first, a page at a time. ``dates`` says how ``since``/``until`` take an incident the
        text dates loosely: ``certain`` (its whole span in the range) or ``possible``."""
        read = read_at(as_of, known_at, projections.incidents, projections.past.incidents, dates)
        where = IncidentFilter(
            mission=_mission(mission),
            host_state=host_state,
            kind=kind,
            since=_time("since", since),
            until=_time("until", until),
            dates=dates or "certain",
        )
        view = await read(where, after, limit)
        if include:
            at = moment(as_of, known_at, dates)
            incidents = await cited(projections, view.incidents, at)
            view = msgspec.structs.replace(view, incidents=incidents)
        return _page(request, view)

    @get(
        "/missions",
        summary="One summary row per mission",
        responses=QUERY_PROBLEMS,
    )
    async def list_missions(
        self,
        request: Request[Any, Any, Any],
        projections: NamedDependency[Projections],
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
        include: Include = None,
    ) -> Response[MissionsView]:
        """Incidents, notes sent and unanswered, open protests and the latest event."""
        read = read_at(as_of, known_at, projections.missions, projections.past.missions, dates)
        view = await read()
        if include:
            at = moment(as_of, known_at, dates)
            missions = await cited(projections, view.missions, at, "mission")
            view = msgspec.structs.replace(view, missions=missions)
        return read_response(request, view)


class MissionController(Controller):
    """``/missions/{mission_id}/...``: one mission's read models."""

    path = "/missions"
    tags = ["projections"]

    @get(
        "/{mission_id:str}/unanswered-notes",
        summary="One mission's unanswered notes",
        responses=QUERY_PROBLEMS,
    )
    async def list_mission_unanswered_notes(
        self,
        request: Request[Any, Any, Any],
        mission_id: MissionPath,
        projections: NamedDependency[Projections],
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
        include: Include = None,
    ) -> Response[UnansweredNotesView]:
        """Like ``/projections/unanswered-notes``, for one mission."""
        read = read_at(
            as_of, known_at, projections.unanswered_notes, projections.past.unanswered_notes, dates
        )
        view = await read(_mission(mission_id))
        if include:
            view = await cite_notes(projections, view, moment(as_of, known_at, dates))
        return read_response(request, view)
