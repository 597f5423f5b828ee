"""Read models: unanswered notes, open protests, incidents, missions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import FromQuery, PathParameter, QueryParameter

from incidents.domain.events import IncidentKind
from incidents.http.problems import QUERY_PROBLEMS
from incidents.projections.incidents_by_mission import IncidentsView
from incidents.projections.missions import MissionsView
from incidents.projections.open_protests import OpenProtestsView
from incidents.projections.reader import Projections
from incidents.projections.unanswered_notes import UnansweredNotesView
from incidents.service import AwareDatetime, BadRequestError
from incidents.store.protocol import STREAM_ID_MAX_LENGTH, is_valid_stream_id

MISSION_PATTERN = r"^mission-[a-z0-9][a-z0-9-]*$"
MissionQuery = Annotated[
    str | None, QueryParameter(pattern=MISSION_PATTERN, max_length=STREAM_ID_MAX_LENGTH)
]
MissionPath = Annotated[
    str, PathParameter(pattern=MISSION_PATTERN, max_length=STREAM_ID_MAX_LENGTH)
]
TimeQuery = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        description="RFC 3339 time with an offset",
        examples=[Example(value="2022-09-18T00:00:00Z")],
    ),
]
_decode_time = msgspec.json.Decoder(AwareDatetime).decode

# A party filter matches an ISO 3166 code or a body's name.
PartyFilter = Annotated[str | None, QueryParameter(min_length=2, max_length=200)]
StateCode = Annotated[
    str | None, QueryParameter(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")
]


def _time(name: str, value: str | None) -> datetime | None:
    """An RFC 3339 time with its offset; the query string's lax parsing would take numbers."""
    if value is None:
        return None
    try:
        return _decode_time(msgspec.json.encode(value))
    except msgspec.ValidationError as error:
        raise BadRequestError(f"{name} must be an RFC 3339 time with an offset: {error}") from error


def _mission(mission: str | None) -> str | None:
    if mission is not None and not (mission.startswith("mission-") and is_valid_stream_id(mission)):
        raise BadRequestError(f"{mission!r} is not a mission stream id (mission-...)")
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
    async def unanswered_notes(
        self, projections: NamedDependency[Projections], mission: MissionQuery = None
    ) -> UnansweredNotesView:
        """Notes each mission sent that have no reply, and notes to it it has not answered."""
        return await projections.unanswered_notes(_mission(mission))

    @get(
        "/open-protests",
        summary="Protests not closed, with their open demands",
        responses=QUERY_PROBLEMS,
    )
    async def open_protests(
        self,
        projections: NamedDependency[Projections],
        by: PartyFilter = None,
        to: PartyFilter = None,
        mission: MissionQuery = None,
    ) -> OpenProtestsView:
        """Filter by who lodged the protest (``by``), with whom (``to``), about which mission."""
        return await projections.open_protests(by, to, _mission(mission))

    @get(
        "/incidents",
        summary="Incidents by mission and host state over time",
        responses=QUERY_PROBLEMS,
    )
    async def incidents(
        self,
        projections: NamedDependency[Projections],
        mission: MissionQuery = None,
        host_state: StateCode = None,
        kind: FromQuery[IncidentKind | None] = None,
        since: TimeQuery = None,
        until: TimeQuery = None,
    ) -> IncidentsView:
        """Incidents filtered by mission, host state, kind and time of occurrence."""
        return await projections.incidents(
            _mission(mission), host_state, kind, _time("since", since), _time("until", until)
        )

    @get(
        "/missions",
        summary="One summary row per mission",
        responses=QUERY_PROBLEMS,
    )
    async def missions(self, projections: NamedDependency[Projections]) -> MissionsView:
        """Incidents, notes sent and unanswered, open protests and the latest event."""
        return await projections.missions()


class MissionController(Controller):
    """``/missions/{mission_id}/...``: one mission's read models."""

    path = "/missions"
    tags = ["projections"]

    @get(
        "/{mission_id:str}/unanswered-notes",
        summary="One mission's unanswered notes",
        responses=QUERY_PROBLEMS,
    )
    async def unanswered_notes(
        self, mission_id: MissionPath, projections: NamedDependency[Projections]
    ) -> UnansweredNotesView:
        """Like ``/projections/unanswered-notes``, for one mission."""
        return await projections.unanswered_notes(_mission(mission_id))
