"""``/dashboard``: the desk's pages, rendered on the server with Jinja2.

Every table is plain HTML and works without JavaScript. With it, htmx swaps in fresh parts
of the overview whenever the log moves (``static/dashboard.js`` listens to the live feed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.params import FromPath, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler
from markupsafe import Markup, escape

from incidents.domain.state import NoteState, ProtestState
from incidents.http.dashboard import charts, forms, reads
from incidents.http.problems import BadRequestError
from incidents.projections.desk import TimelineItem
from incidents.projections.desk_index import DeskIndex
from incidents.projections.in_time import Moment
from incidents.projections.reader import Projections
from incidents.projections.search import QueryError, SearchIndex, SearchResults
from incidents.service import LogService
from incidents.store.protocol import RecordedEvent, is_valid_stream_id

HERE = Path(__file__).parent
STATIC = HERE / "static"
HTMX = "htmx-2.0.8.min.js"

# The parts of the overview a page may ask for again, and the template of each; the page
# itself is rendered with the first four (the charts follow it).
PARTS = ("counts", "waiting", "protests", "latest", "charts")
PAGE_PARTS = PARTS[:4]
SEARCH_HITS = 50
TIMELINE_ITEMS = 500

F = TypeVar("F", bound=Callable[..., Any])


def _day(value: datetime | None) -> str:
    """17 Aug 2022 (UTC)."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%-d %b %Y")


class _Dating(msgspec.Struct):
    """The fields of an event's data that say how exactly its text dates it."""

    occurred_precision: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


_DATING = msgspec.json.Decoder(_Dating)


def _happened(event: RecordedEvent) -> str:
    """When an event happened, no more exactly than its text says: ``17 Aug 2022``,
    ``Aug 2022``, ``2022``, ``between 9 Nov 2020 and 10 Nov 2024``, ``before 17 Aug 2022``;
    an ``occurred_at`` the text only fences in is never shown as if it were exact."""
    dating = _DATING.decode(event.data)
    after, before = dating.occurred_after, dating.occurred_before
    if after is not None and before is not None:
        return f"between {_day(after)} and {_day(before)}"
    if before is not None:
        return f"before {_day(before)}"
    if after is not None:
        return f"after {_day(after)}"
    moment = event.occurred_at.astimezone(UTC)
    if dating.occurred_precision == "year":
        return f"in {moment:%Y}"
    if dating.occurred_precision == "month":
        return f"in {moment:%b %Y}"
    return _day(moment)


def _iso_day(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


_PARTY = ("state", "body", "person", "title")


def _party(party: Any) -> str:
    """A party in a line: its state, then its body, person or title."""
    if party is None:
        return "—"
    fields: dict[str, Any] = (
        party if isinstance(party, dict) else {key: getattr(party, key, None) for key in _PARTY}
    )
    named = ", ".join(str(fields[key]) for key in _PARTY[1:] if fields.get(key))
    state = fields.get("state")
    if state and named:
        return f"{state} · {named}"
    return str(state or named or "—")


def _words(value: str | None) -> str:
    """legal_assessment → legal assessment."""
    return "" if value is None else value.replace("_", " ")


def _stream_page(stream_id: str) -> str:
    """Where the dashboard shows a stream: its page, or its events as JSON."""
    category = stream_id.partition("-")[0]
    if category in ("mission", "protest", "note"):
        return f"/dashboard/{category}s/{stream_id}"
    return f"/streams/{stream_id}/events"


def register_filters(engine: JinjaTemplateEngine) -> None:
    """The filters the templates use."""
    engine.engine.filters.update(marked=_marked)
    engine.engine.filters.update(
        day=_day,
        happened=_happened,
        iso_day=_iso_day,
        party=_party,
        words=_words,
        stream_page=_stream_page,
    )
    engine.engine.globals.update(htmx=HTMX)
    engine.engine.add_extension("jinja2.ext.do")


TEMPLATES = TemplateConfig(
    directory=HERE / "templates",
    engine=JinjaTemplateEngine,
    engine_callback=register_filters,
)


def checked_stream(stream_id: str, category: str) -> str:
    """The stream id when it names a stream of ``category``; 404 otherwise."""
    if not (stream_id.startswith(f"{category}-") and is_valid_stream_id(stream_id)):
        raise NotFoundException(f"{stream_id!r} is not a {category} stream id")
    return stream_id


# ``as_of``: a day; a page shows what had happened by the end of it (UTC).
AsOfDay = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description="show the page as it stood at the end of this day (UTC)",
    ),
]


def moment_of(as_of: str | None) -> Moment | None:
    """The moment a page shows: the end of the ``as_of`` day, or None for now."""
    if as_of is None:
        return None
    try:
        day = date.fromisoformat(as_of)
    except ValueError as error:
        raise BadRequestError(f"as_of must be a day such as 2022-09-18, not {as_of!r}") from error
    end = datetime.combine(day, time.max, UTC)
    return Moment(as_of=end)


async def _part(
    name: str,
    projections: Projections,
    service: LogService,
    moment: Moment | None,
    drawn: ChartsDrawn,
) -> dict[str, Any]:
    """What one part of the overview shows."""
    store = service.store
    if name == "counts":
        return {"counts": await reads.counts(projections, store, moment)}
    if name == "waiting":
        missions, notes = await reads.waiting_notes(projections, moment)
        return {
            "waiting_missions": missions[: reads.OVERVIEW_ROWS],
            "waiting_notes": notes[: reads.OVERVIEW_ROWS],
            "more_notes": max(0, len(notes) - reads.OVERVIEW_ROWS),
        }
    if name == "protests":
        return {"protests": await reads.open_protests(projections, moment, reads.OVERVIEW_ROWS)}
    if name == "latest":
        return {"latest": await reads.latest_events(store, moment=moment)}
    if name == "charts":
        return await _charts(projections, service, moment, drawn)
    raise NotFoundException(f"no part {name!r}")


class ChartsDrawn:
    """The charts last drawn, kept while the log's head and the day shown stay the same: they
    read every note and protest of the log, and every open overview asks for them."""

    def __init__(self) -> None:
        self.key: tuple[int, Moment | None] | None = None
        self.charts: dict[str, Any] = {}
        self.lock = asyncio.Lock()


def _drawn(request: Request[Any, Any, Any]) -> ChartsDrawn:
    """This process's charts, kept in the app's state."""
    drawn: ChartsDrawn = request.app.state.setdefault("dashboard_charts", ChartsDrawn())
    return drawn


async def _charts(
    projections: Projections, service: LogService, moment: Moment | None, drawn: ChartsDrawn
) -> dict[str, Any]:
    async with drawn.lock:
        key = ((await service.store.head()).position, moment)
        if drawn.key != key:
            drawn.charts = await _draw_charts(projections, service, moment)
            drawn.key = key
        return drawn.charts


async def _draw_charts(
    projections: Projections, service: LogService, moment: Moment | None
) -> dict[str, Any]:
    store = service.store
    months, by_state = await reads.incidents_by_state_and_month(projections, moment)
    _, notes = await reads.waiting_notes(projections, moment)
    replies = await reads.reply_times(store, moment)
    demands = await reads.demand_outcomes(store, moment)
    ages = reads.note_ages(notes)
    return {
        "incident_months": months,
        "incidents_by_state": by_state,
        "incidents_chart": charts.stacked_bars(
            "Incidents per host state, by month", by_state, months
        ),
        "ages": ages,
        "ages_chart": charts.bar_chart("Ages of unanswered notes", ages),
        "replies": replies,
        "replies_chart": charts.bar_chart(
            "Median days to a reply, per host state", replies, " d", charts.PALETTE[2]
        ),
        "demands": demands,
        "demands_chart": charts.stacked_bars(
            "Demands met, refused and open",
            demands,
            reads.DEMAND_STATUSES,
            charts.STATUS_COLOURS,
        ),
    }


def frame(request: Request[Any, Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """What every page's frame shows: who is signed in, where the page is, and the day it
    is shown at (``q`` carries it into the page's links)."""
    user = request.scope.get("user")
    return {
        "user": user,
        "path": request.url.path,
        "as_of": as_of,
        "q": f"?{urlencode({'as_of': as_of})}" if as_of else "",
    }


def named(handler: F, name: str, doc: str) -> F:
    """``handler`` under ``name`` with ``doc``: a route handler one factory makes for
    several routes (Litestar names the handler and describes the route from these)."""
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc
    return handler


async def _parts_page(
    template: str,
    parts: tuple[str, ...],
    request: Request[Any, Any, Any],
    projections: Projections,
    service: LogService,
    as_of: str | None,
) -> Template:
    """``template`` showing the overview's ``parts`` (see :func:`_part`)."""
    moment = moment_of(as_of)
    context = frame(request, as_of)
    for part in parts:
        context.update(await _part(part, projections, service, moment, _drawn(request)))
    return Template(template, context=context)


def _parts_route(path: str, template: str, parts: tuple[str, ...], doc: str) -> HTTPRouteHandler:
    """``GET path``: a page of the overview's ``parts`` (``doc``), named for its template."""

    async def page(
        self: Controller,
        request: Request[Any, Any, Any],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
        as_of: AsOfDay = None,
    ) -> Template:
        return await _parts_page(template, parts, request, projections, service, as_of)

    return get(path)(named(page, template.removesuffix(".html"), doc))


def _stream_page_route(category: str, doc: str) -> HTTPRouteHandler:
    """``GET /{category}s/{stream_id}``: the page of one note or protest (``doc``)."""

    async def page(
        self: Controller,
        request: Request[Any, Any, Any],
        stream_id: FromPath[str],
        projections: NamedDependency[Projections],
        as_of: AsOfDay = None,
    ) -> Template:
        state = await stream_state(projections, category, stream_id, moment_of(as_of))
        context = await stream_context(request, category, stream_id, state, projections, as_of)
        return Template(f"{category}.html", context=context)

    return get(f"/{category}s/{{stream_id:str}}")(named(page, category, doc))


class DashboardController(Controller):
    """The desk's pages: the overview, a mission, a protest, a note."""

    path = "/"
    include_in_schema = False

    overview = _parts_route(
        "/",
        "overview.html",
        PAGE_PARTS,
        "Unanswered notes, open protests, the latest events, counts and charts.",
    )
    charts = _parts_route(
        "/charts",
        "charts.html",
        ("charts",),
        "The four charts on a page of their own (the overview's, without JavaScript).",
    )

    @get("/parts/{part:str}")
    async def part(
        self,
        request: Request[Any, Any, Any],
        part: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
        as_of: AsOfDay = None,
    ) -> Template:
        """One part of the overview, for htmx to swap in."""
        if part not in PARTS:
            raise NotFoundException(f"no part {part!r}")
        return await _parts_page(
            f"parts/{part}.html", (part,), request, projections, service, as_of
        )

    @get("/search")
    async def search(
        self,
        request: Request[Any, Any, Any],
        search: NamedDependency[SearchIndex],
        q: Annotated[str | None, QueryParameter(max_length=1000)] = None,
    ) -> Template:
        """Streams whose words match the query, best first, each with its snippet."""
        results: SearchResults | None = None
        error: str | None = None
        if q and q.strip():
            try:
                results = await search.search(q, None, None, 0, SEARCH_HITS)
            except QueryError as refused:
                error = str(refused)
        context = {**frame(request), "query": q or "", "results": results, "error": error}
        return Template("search.html", context=context, status_code=400 if error else 200)

    @get("/missions/{mission_id:str}")
    async def mission(
        self,
        request: Request[Any, Any, Any],
        mission_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
        desk: NamedDependency[DeskIndex],
        as_of: AsOfDay = None,
    ) -> Template:
        """One mission: its notes both ways, its protests and demands, its incidents."""
        store = service.store
        moment = moment_of(as_of)
        checked_stream(mission_id, "mission")
        state = await reads.mission_state(projections, mission_id, moment)
        if state is None:
            raise NotFoundException(f"no mission {mission_id!r}")
        return Template(
            "mission.html",
            context={
                **frame(request, as_of),
                "mission_id": mission_id,
                "mission": state,
                "notes": await reads.mission_notes(store, mission_id, moment),
                "protests": await reads.mission_protests(store, mission_id, moment),
                "incidents": await reads.mission_incidents(store, mission_id, moment),
                "now": _now(projections, moment),
                "days_between": reads.days_between,
                "timeline": await _timeline(desk, mission_id, moment),
            },
        )

    protest = _stream_page_route(
        "protest", "One protest: its demands and how each was answered, its history and sources."
    )
    note = _stream_page_route(
        "note", "One note: who sent it to whom, its reply if any, its history and sources."
    )


async def _timeline(desk: DeskIndex, mission: str, moment: Moment | None) -> list[TimelineItem]:
    """The mission's timeline, oldest first: every event touching it (as the day shown
    saw it: those that had occurred by then)."""
    async with desk.current() as index:
        view = await index.timeline(mission, None, TIMELINE_ITEMS)
    items = [] if view is None else view.items
    if moment is not None and moment.as_of is not None:
        cutoff = moment.as_of
        items = [item for item in items if item.occurred.at <= cutoff]
    return items


def _marked(snippet: str) -> Markup:
    """A search snippet, escaped, with its ``<mark>`` tags kept."""
    escaped = str(escape(snippet))
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


def _now(projections: Projections, moment: Moment | None) -> datetime:
    """The time a page counts days up to: the moment shown, else now."""
    if moment is not None and moment.as_of is not None:
        return moment.as_of
    return projections.clock()


# The categories whose streams have a page of their own here besides missions: the state
# each folds to, and the forms its page holds (blank until a post fills one).
STREAM_PAGES: dict[str, tuple[type[NoteState | ProtestState], tuple[str, ...]]] = {
    "note": (NoteState, ("reply_form",)),
    "protest": (ProtestState, ("answer_form", "blank_form")),
}


async def stream_state(
    projections: Projections, category: str, stream_id: str, moment: Moment | None = None
) -> NoteState | ProtestState:
    """The state of the note or protest a page shows; 404 when there is none (then)."""
    kind, _ = STREAM_PAGES[category]
    state = await reads.stream_state(projections, checked_stream(stream_id, category), kind, moment)
    if state is None:
        raise NotFoundException(f"no {category} {stream_id!r}")
    return state


async def stream_context(
    request: Request[Any, Any, Any],
    category: str,
    stream_id: str,
    state: NoteState | ProtestState,
    projections: Projections,
    as_of: str | None = None,
) -> dict[str, Any]:
    """What the note's or the protest's page shows."""
    moment = moment_of(as_of)
    _, blank_forms = STREAM_PAGES[category]
    return {
        **frame(request, as_of),
        "stream_id": stream_id,
        category: state,
        "history": await reads.history(projections.store, stream_id, moment),
        "now": _now(projections, moment),
        "days_between": reads.days_between,
        "choices": forms,
        **{name: forms.FormResult({}) for name in blank_forms},
    }


def dashboard_handlers(
    writing: type[Controller], csrf: CSRFConfig
) -> list[ControllerRouterHandler]:
    """The pages and forms under ``/dashboard`` with CSRF tokens checked on every form, and
    the pinned assets they load (served by the app: nothing from a CDN)."""
    return [
        Router(
            "/dashboard",
            route_handlers=[DashboardController, writing],
            middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
            include_in_schema=False,
        ),
        create_static_files_router(
            path="/dashboard/static",
            directories=[STATIC],
            include_in_schema=False,
            name="dashboard-static",
        ),
    ]
