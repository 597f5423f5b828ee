"""Incidents by mission and host state over time.

The host state of an incident is its location's state, or else the receiving state of the
mission it concerns. Counts come per mission, per host state and per month of occurrence,
of every incident that matches; the list is a page of them, newest first.
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
    """The read model: incidents, newest first, with counts by mission, host state, month.

    The counts are of every incident that matches; ``incidents`` lists a page of them. Pass
    ``next_after`` as ``after`` for the next page (``has_more``).
    """

    count: int
    by_mission: dict[str, int]
    by_host_state: dict[str, int]
    by_month: dict[str, int]
    incidents: list[IncidentRow]
    next_after: str | None = None
    has_more: bool = False


# Where an incident comes in the view, sorted in reverse: newest first, then by stream id.
IncidentKey = tuple[bool, datetime | None, str]


def incident_order(incident: IncidentState | IncidentRow) -> IncidentKey:
    """An incident's place in the view, in reverse (a page's cursor names the last listed)."""
    return (incident.occurred_at is not None, incident.occurred_at, incident.stream_id)


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
    after: IncidentKey | None = None,
    limit: int | None = None,
) -> IncidentsView:
    """Incidents filtered by mission, host state, kind and time of occurrence; the list holds
    the ``limit`` (all when None) that come after ``after`` in the view's order."""
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
    rows.sort(key=incident_order, reverse=True)
    start = 0
    if after is not None:
        start = next((i for i, row in enumerate(rows) if incident_order(row) < after), len(rows))
    end = len(rows) if limit is None else min(len(rows), start + limit)
    return IncidentsView(
        count=len(rows),
        by_mission=dict(Counter(r.mission or "none" for r in rows)),
        by_host_state=dict(Counter(r.host_state or "unknown" for r in rows)),
        by_month=dict(
            sorted(Counter(r.occurred_at.strftime("%Y-%m") for r in rows if r.occurred_at).items())
        ),
        incidents=rows[start:end],
        next_after=rows[end - 1].stream_id if end > start else (after[2] if after else None),
        has_more=end < len(rows),
    )
