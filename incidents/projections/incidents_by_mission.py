"""Incidents by mission and host state over time.

The host state of an incident is its location's state, or else the receiving state of the
mission it concerns. Counts come per mission, per host state and per month of occurrence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import msgspec

from incidents.domain.state import IncidentState, MissionState


class IncidentRow(msgspec.Struct, frozen=True):
    """One incident as the dashboard lists it."""

    stream_id: str
    kind: str
    title: str
    status: str
    occurred_at: datetime | None
    mission: str | None
    host_state: str | None
    police_response_minutes: float | None = None


class IncidentsView(msgspec.Struct, frozen=True):
    """The read model: incidents, newest first, with counts by mission, host state, month."""

    count: int
    by_mission: dict[str, int]
    by_host_state: dict[str, int]
    by_month: dict[str, int]
    incidents: list[IncidentRow]


def _host_state(incident: IncidentState, missions: dict[str, MissionState]) -> str | None:
    if incident.location is not None and incident.location.state:
        return incident.location.state
    mission = missions.get(incident.mission) if incident.mission else None
    return mission.receiving_state if mission else None


def incidents_view(
    incidents: Iterable[IncidentState],
    missions: Iterable[MissionState],
    mission: str | None = None,
    host_state: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> IncidentsView:
    """Incidents filtered by mission, host state, kind and time of occurrence."""
    by_id = {m.stream_id: m for m in missions}
    rows: list[IncidentRow] = []
    for incident in incidents:
        host = _host_state(incident, by_id)
        if mission is not None and incident.mission != mission:
            continue
        if host_state is not None and host != host_state.upper():
            continue
        if kind is not None and incident.kind != kind:
            continue
        occurred = incident.occurred_at
        if since is not None and (occurred is None or occurred < since):
            continue
        if until is not None and (occurred is None or occurred > until):
            continue
        rows.append(
            IncidentRow(
                stream_id=incident.stream_id,
                kind=incident.kind,
                title=incident.title,
                status=incident.status,
                occurred_at=occurred,
                mission=incident.mission,
                host_state=host,
                police_response_minutes=incident.response_minutes,
            )
        )
    rows.sort(key=lambda r: (r.occurred_at is not None, r.occurred_at, r.stream_id), reverse=True)
    return IncidentsView(
        count=len(rows),
        by_mission=dict(Counter(r.mission or "none" for r in rows)),
        by_host_state=dict(Counter(r.host_state or "unknown" for r in rows)),
        by_month=dict(
            sorted(Counter(r.occurred_at.strftime("%Y-%m") for r in rows if r.occurred_at).items())
        ),
        incidents=rows,
    )
