"""``/dashboard``: the desk's pages, rendered on the server with Jinja2.

Every table is plain HTML and works without JavaScript. With it, htmx swaps in fresh parts
of the overview whenever the log moves (``static/dashboard.js`` listens to the live feed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from incidents.domain.state import NoteState, ProtestState
from incidents.http.dashboard import charts, reads
from incidents.projections.reader import Projections
from incidents.service import LogService
from incidents.store.protocol import is_valid_stream_id

HERE = Path(__file__).parent
STATIC = HERE / "static"
HTMX = "htmx-2.0.8.min.js"

# The parts of the overview a page may ask for again, and the template of each.
PARTS = ("counts", "waiting", "protests", "latest", "charts")


def _day(value: datetime | None) -> str:
    """17 Aug 2022 (UTC)."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%-d %b %Y")


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
    engine.engine.filters.update(
        day=_day, iso_day=_iso_day, party=_party, words=_words, stream_page=_stream_page
    )
    engine.engine.globals.update(htmx=HTMX)


TEMPLATES = TemplateConfig(
    directory=HERE / "templates",
    engine=JinjaTemplateEngine,
    engine_callback=register_filters,
)


def _checked(stream_id: str, category: str) -> str:
    if not (stream_id.startswith(f"{category}-") and is_valid_stream_id(stream_id)):
        raise NotFoundException(f"{stream_id!r} is not a {category} stream id")
    return stream_id


async def _part(name: str, projections: Projections, service: LogService) -> dict[str, Any]:
    """What one part of the overview shows."""
    store = service.store
    if name == "counts":
        return {"counts": await reads.counts(projections, store)}
    if name == "waiting":
        missions, notes = await reads.waiting_notes(projections)
        return {
            "waiting_missions": missions[: reads.OVERVIEW_ROWS],
            "waiting_notes": notes[: reads.OVERVIEW_ROWS],
            "more_notes": max(0, len(notes) - reads.OVERVIEW_ROWS),
        }
    if name == "protests":
        view = await projections.open_protests(limit=reads.OVERVIEW_ROWS)
        return {"protests": view}
    if name == "latest":
        return {"latest": await reads.latest_events(store)}
    if name == "charts":
        return await _charts(projections, service)
    raise NotFoundException(f"no part {name!r}")


async def _charts(projections: Projections, service: LogService) -> dict[str, Any]:
    store = service.store
    months, by_state = await reads.incidents_by_state_and_month(projections)
    _, notes = await reads.waiting_notes(projections)
    replies = await reads.reply_times(store)
    demands = await reads.demand_outcomes(store)
    return {
        "incident_months": months,
        "incidents_by_state": by_state,
        "incidents_chart": charts.stacked_bars(
            "Incidents per host state, by month", by_state, months
        ),
        "ages": reads.note_ages(notes),
        "ages_chart": charts.bar_chart("Ages of unanswered notes", reads.note_ages(notes)),
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


def _page(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What every page's frame shows: who is signed in."""
    user = request.scope.get("user")
    return {"user": user, "path": request.url.path}


class DashboardController(Controller):
    """The desk's pages: the overview, a mission, a protest, a note."""

    path = "/dashboard"
    include_in_schema = False

    @get("/")
    async def overview(
        self,
        request: Request[Any, Any, Any],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Template:
        """Unanswered notes, open protests, the latest events, counts and charts."""
        context = _page(request)
        for part in PARTS:
            context.update(await _part(part, projections, service))
        return Template("overview.html", context=context)

    @get("/parts/{part:str}")
    async def part(
        self,
        request: Request[Any, Any, Any],
        part: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Template:
        """One part of the overview, for htmx to swap in."""
        if part not in PARTS:
            raise NotFoundException(f"no part {part!r}")
        context = {**_page(request), **await _part(part, projections, service)}
        return Template(f"parts/{part}.html", context=context)

    @get("/missions/{mission_id:str}")
    async def mission(
        self,
        request: Request[Any, Any, Any],
        mission_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Template:
        """One mission: its notes both ways, its protests and demands, its incidents."""
        store = service.store
        state = await reads.mission_state(store, _checked(mission_id, "mission"))
        if state is None:
            raise NotFoundException(f"no mission {mission_id!r}")
        now = projections.clock()
        return Template(
            "mission.html",
            context={
                **_page(request),
                "mission_id": mission_id,
                "mission": state,
                "notes": await reads.mission_notes(store, mission_id),
                "protests": await reads.mission_protests(store, mission_id),
                "incidents": await reads.mission_incidents(store, mission_id),
                "now": now,
                "days_between": reads.days_between,
                "history": await reads.history(store, mission_id),
            },
        )

    @get("/protests/{stream_id:str}")
    async def protest(
        self,
        request: Request[Any, Any, Any],
        stream_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Template:
        """One protest: its demands and how each was answered, its history and sources."""
        store = service.store
        state = await reads.stream_state(store, _checked(stream_id, "protest"), ProtestState)
        if state is None:
            raise NotFoundException(f"no protest {stream_id!r}")
        return Template(
            "protest.html",
            context={
                **_page(request),
                "stream_id": stream_id,
                "protest": state,
                "history": await reads.history(store, stream_id),
                "now": projections.clock(),
                "days_between": reads.days_between,
            },
        )

    @get("/notes/{stream_id:str}")
    async def note(
        self,
        request: Request[Any, Any, Any],
        stream_id: FromPath[str],
        projections: NamedDependency[Projections],
        service: NamedDependency[LogService],
    ) -> Template:
        """One note: who sent it to whom, its reply if any, its history and sources."""
        store = service.store
        state = await reads.stream_state(store, _checked(stream_id, "note"), NoteState)
        if state is None:
            raise NotFoundException(f"no note {stream_id!r}")
        return Template(
            "note.html",
            context={
                **_page(request),
                "stream_id": stream_id,
                "note": state,
                "history": await reads.history(store, stream_id),
                "now": projections.clock(),
                "days_between": reads.days_between,
            },
        )


def dashboard_handlers() -> list[ControllerRouterHandler]:
    """The pages and the pinned assets they load (served by the app: nothing from a CDN)."""
    return [
        DashboardController,
        create_static_files_router(
            path="/dashboard/static",
            directories=[STATIC],
            include_in_schema=False,
            name="dashboard-static",
        ),
    ]
