"""Incidents by mission and host state over time.

The host state of an incident is its location's state, or else the receiving state of the
mission it concerns. Counts come per mission, per host state and per month of occurrence,
of every incident that matches; the list is a page of them, newest first.

An incident the text dates loosely is filtered by the span its date allows (its precision's
period, narrowed by its bounds: :func:`incidents.domain.times.span`), under the rule asked
for: ``certain`` (the whole span in ``since``/``until``) or ``possible`` (any part of it).
It counts in ``by_month`` under its month only when that span lies in one month, else under
``undated``; each row shows its date as the text gives it (``occurred_label``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

import msgspec

from incidents.domain.events import Source
from incidents.domain.state import IncidentState, MissionState, bound
from incidents.domain.times import DateRule, Span, date_label, in_range, span
from incidents.projections.ordered import Ordered, Page, Tag, Tags


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
    occurred_precision: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    occurred_label: str | None = None
    # The incident's citations (document and quote), with include=sources.
    sources: list[Source] | None = None


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
    # The moment a view in time was computed for (GET ...?as_of=&known_at=); null for now.
    as_of: datetime | None = None
    known_at: datetime | None = None


# Where an incident comes in the view, sorted in reverse: newest first, then by stream id.
IncidentKey = tuple[bool, datetime | None, str]


def incident_order(incident: IncidentState | IncidentRow) -> IncidentKey:
    """An incident's place in the view, in reverse (a page's cursor names the last listed)."""
    return (incident.occurred_at is not None, incident.occurred_at, incident.stream_id)


def host_state_of(incident: IncidentState, receiving: Mapping[str, str]) -> str | None:
    """The incident's location's state, or else the receiving state of its mission
    (``receiving``: each mission's receiving state, by stream id)."""
    if incident.location is not None and incident.location.state:
        return incident.location.state
    return receiving.get(incident.mission) if incident.mission else None


def incident_span(incident: IncidentState) -> Span:
    """The instants the incident's date allows (see :func:`incidents.domain.times.span`)."""
    return span(
        incident.occurred_at,
        incident.occurred_precision,
        bound(incident.occurred_after),
        bound(incident.occurred_before),
    )


def incident_row(incident: IncidentState, receiving: Mapping[str, str]) -> IncidentRow:
    """The incident as the view lists it."""
    after, before = bound(incident.occurred_after), bound(incident.occurred_before)
    return IncidentRow(
        stream_id=incident.stream_id,
        kind=incident.kind,
        title=incident.title,
        status=incident.status,
        occurred_at=incident.occurred_at,
        mission=incident.mission,
        host_state=host_state_of(incident, receiving),
        police_response_minutes=incident.response_minutes,
        occurred_precision=incident.occurred_precision,
        occurred_after=after,
        occurred_before=before,
        occurred_label=date_label(
            incident.occurred_at,
            incident.occurred_precision,
            incident.occurred_zone,
            after,
            before,
        ),
    )


UNDATED_MONTH = "undated"


def _month(bounds: Span) -> str:
    """The month a span lies in, or ``undated`` when it is open or crosses a month's end."""
    first, last = bounds
    if first is None or last is None or (first.year, first.month) != (last.year, last.month):
        return UNDATED_MONTH
    return f"{first.year:04d}-{first.month:02d}"


def _value(tags: Tags, name: str) -> str | None:
    for tag, value in tags:
        if tag == name:
            return value
    return None


class IncidentTotals:
    """What the view counts over the incidents that match: by mission, host state, month."""

    __slots__ = ("by_host_state", "by_mission", "by_month", "count")

    def __init__(self) -> None:
        self.count = 0
        self.by_mission: Counter[str] = Counter()
        self.by_host_state: Counter[str] = Counter()
        self.by_month: Counter[str] = Counter()

    def add(self, key: IncidentKey, tags: Tags, value: Span, sign: int) -> None:
        """Count an incident in (sign 1) or out (sign -1); a count of 0 is no entry."""
        self.count += sign
        _move(self.by_mission, _value(tags, "mission") or "none", sign)
        _move(self.by_host_state, _value(tags, "host_state") or "unknown", sign)
        _move(self.by_month, _month(value), sign)


def _move(counter: Counter[str], name: str, sign: int) -> None:
    left = counter[name] + sign
    if left:
        counter[name] = left
    else:
        del counter[name]


# Where each incident comes in the view, oldest first (the view reads it backwards), with
# the span its date allows.
HeldIncidents = Ordered[IncidentKey, Span, IncidentTotals]
# The tag of incidents whose date is not a point: the only ones a ``possible`` range may
# take from outside the range of their ``occurred_at``.
LOOSE: Tag = ("date", "loose")


def incident_entry(
    incident: IncidentState, receiving: Mapping[str, str]
) -> tuple[IncidentKey, Tags, Span]:
    """The incident's place in the view, the filter values it is found by (its mission,
    host state (see :func:`host_state_of`) and kind) and the span of its date; ``incident``
    may be its place (:data:`incidents.projections.slices.IncidentPlace`), cut from it."""
    bounds = incident_span(incident)
    tags: set[Tag] = {("kind", incident.kind)}
    if bounds[0] is None or bounds[0] != bounds[1]:
        tags.add(LOOSE)
    if incident.mission is not None:
        tags.add(("mission", incident.mission))
    host = host_state_of(incident, receiving)
    if host is not None:
        tags.add(("host_state", host))
    return incident_order(incident), tuple(sorted(tags)), bounds


def held_incidents() -> HeldIncidents:
    """An empty holder of incidents' places in the view."""
    return Ordered(IncidentTotals)


def _time_of(key: IncidentKey) -> tuple[bool, datetime | None]:
    return key[0], key[1]


class IncidentFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which incidents a view counts and lists (None: any): their mission, host state (see
    :func:`host_state_of`; asked in either case), kind, and time of occurrence between
    ``since`` and ``until`` under the rule ``dates`` (:func:`incidents.domain.times.in_range`)."""

    mission: str | None = None
    host_state: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    dates: DateRule = "certain"

    def tags(self) -> list[Tag]:
        """The tags an incident must hold to match (:func:`incident_entry`)."""
        tags: list[Tag] = []
        if self.mission is not None:
            tags.append(("mission", self.mission))
        if self.host_state is not None:
            tags.append(("host_state", self.host_state.upper()))
        if self.kind is not None:
            tags.append(("kind", self.kind))
        return tags

    def is_dated(self) -> bool:
        """Whether it asks for a time of occurrence."""
        return self.since is not None or self.until is not None

    def keeps(self, bounds: Span) -> bool:
        """Whether an incident whose date allows the span ``bounds`` is in the time asked."""
        return in_range(bounds, self.since, self.until, self.dates)


ANY_INCIDENT = IncidentFilter()


def select_incidents(
    held: HeldIncidents,
    where: IncidentFilter = ANY_INCIDENT,
    after: IncidentKey | None = None,
    limit: int | None = None,
) -> Page[IncidentTotals]:
    """The page of :func:`incidents_view` from the places ``held``: which incidents, newest
    first, and the counts of all that match."""
    tags = where.tags()
    if not where.is_dated():
        return held.page(tags, after, limit, newest_first=True)
    # An occurred_at lies in its span: a certain match has it in the range; a possible one
    # may lie outside only when its date is loose.
    return held.page(
        tags,
        after,
        limit,
        newest_first=True,
        low=None if where.since is None else (True, where.since),
        high=None if where.until is None else (True, where.until),
        prefix=_time_of,
        keep=where.keeps,
        beyond=LOOSE if where.dates == "possible" else None,
    )


def incidents_page(
    page: Page[IncidentTotals], rows: list[IncidentRow], after: str | None = None
) -> IncidentsView:
    """The view of a page selected by :func:`select_incidents`, given its rows in order."""
    totals = page.totals
    return IncidentsView(
        count=totals.count,
        by_mission=dict(sorted(totals.by_mission.items())),
        by_host_state=dict(sorted(totals.by_host_state.items())),
        by_month=dict(sorted(totals.by_month.items())),
        incidents=rows,
        next_after=page.stream_ids[-1] if page.stream_ids else after,
        has_more=page.has_more,
    )


def incidents_view(
    incidents: Iterable[IncidentState],
    missions: Iterable[MissionState],
    where: IncidentFilter = ANY_INCIDENT,
    after: IncidentKey | None = None,
    limit: int | None = None,
) -> IncidentsView:
    """Incidents that match ``where``; the list holds the ``limit`` (all when None) that
    come after ``after`` in the view's order."""
    receiving = {m.stream_id: m.receiving_state for m in missions}
    rows: list[IncidentRow] = []
    spans: dict[str, Span] = {}
    for incident in incidents:
        row = incident_row(incident, receiving)
        if where.mission is not None and row.mission != where.mission:
            continue
        if where.host_state is not None and row.host_state != where.host_state.upper():
            continue
        if where.kind is not None and row.kind != where.kind:
            continue
        bounds = incident_span(incident)
        if where.is_dated() and not where.keeps(bounds):
            continue
        spans[row.stream_id] = bounds
        rows.append(row)
    rows.sort(key=incident_order, reverse=True)
    start = 0
    if after is not None:
        start = next((i for i, row in enumerate(rows) if incident_order(row) < after), len(rows))
    end = len(rows) if limit is None else min(len(rows), start + limit)
    return IncidentsView(
        count=len(rows),
        by_mission=dict(sorted(Counter(r.mission or "none" for r in rows).items())),
        by_host_state=dict(sorted(Counter(r.host_state or "unknown" for r in rows).items())),
        by_month=dict(sorted(Counter(_month(spans[r.stream_id]) for r in rows).items())),
        incidents=rows[start:end],
        next_after=rows[end - 1].stream_id if end > start else (after[2] if after else None),
        has_more=end < len(rows),
    )
