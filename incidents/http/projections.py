"""Read models: unanswered notes, open protests, incidents, missions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from incidents.projections.incidents_by_mission import IncidentsView
from incidents.projections.missions import MissionsView
from incidents.projections.open_protests import OpenProtestsView
from incidents.projections.reader import Projections
from incidents.projections.unanswered_notes import UnansweredNotesView
from incidents.service import BadRequestError
from incidents.store.protocol import is_valid_stream_id

StateCode = Annotated[str | None, QueryParameter(min_length=2, max_length=200)]


def _mission(mission: str | None) -> str | None:
    if mission is not None and not (mission.startswith("mission-") and is_valid_stream_id(mission)):
        raise BadRequestError(f"{mission!r} is not a mission stream id (mission-...)")
    return mission


class ProjectionController(Controller):
    """``/projections/...``: the dashboards' read models."""

    path = "/projections"
    tags = ["projections"]

    @get("/unanswered-notes", summary="Unanswered notes per mission, both directions")
    async def unanswered_notes(
        self, projections: NamedDependency[Projections], mission: FromQuery[str | None] = None
    ) -> UnansweredNotesView:
        """Notes each mission sent that have no reply, and notes to it it has not answered."""
        return await projections.unanswered_notes(_mission(mission))

    @get("/open-protests", summary="Protests not closed, with their open demands")
    async def open_protests(
        self,
        projections: NamedDependency[Projections],
        by: StateCode = None,
        to: StateCode = None,
        mission: FromQuery[str | None] = None,
    ) -> OpenProtestsView:
        """Filter by who lodged the protest (``by``), with whom (``to``), about which mission."""
        return await projections.open_protests(by, to, _mission(mission))

    @get("/incidents", summary="Incidents by mission and host state over time")
    async def incidents(
        self,
        projections: NamedDependency[Projections],
        mission: FromQuery[str | None] = None,
        host_state: StateCode = None,
        kind: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> IncidentsView:
        """Incidents filtered by mission, host state, kind and time of occurrence."""
        return await projections.incidents(_mission(mission), host_state, kind, since, until)

    @get("/missions", summary="One summary row per mission")
    async def missions(self, projections: NamedDependency[Projections]) -> MissionsView:
        """Incidents, notes sent and unanswered, open protests and the latest event."""
        return await projections.missions()


class MissionController(Controller):
    """``/missions/{mission_id}/...``: one mission's read models."""

    path = "/missions"
    tags = ["projections"]

    @get("/{mission_id:str}/unanswered-notes", summary="One mission's unanswered notes")
    async def unanswered_notes(
        self, mission_id: FromPath[str], projections: NamedDependency[Projections]
    ) -> UnansweredNotesView:
        """Like ``/projections/unanswered-notes``, for one mission."""
        return await projections.unanswered_notes(_mission(mission_id))
