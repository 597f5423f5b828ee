"""Open protests: those not closed, each with its demands and which are still unmet.

A demand stays open until a ``DemandAnswered`` says ``met`` or ``rejected``; a partial
answer keeps it open (events.md). The protests come oldest first, a page at a time: the
counts are of every protest that matches, the list holds those of the page.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime

import msgspec

from incidents.domain.events import Party
from incidents.domain.state import ProtestState

OPEN_DEMAND = frozenset({"open", "partially_met"})


class DemandView(msgspec.Struct, frozen=True):
    """One demand of a protest and where it stands."""

    demand: str
    status: str
    open: bool
    answered_at: datetime | None = None


class OpenProtest(msgspec.Struct, frozen=True):
    """One protest that is not closed."""

    stream_id: str
    by: Party
    to: Party
    form: str
    lodged_at: datetime | None
    days_open: int
    demands: list[DemandView]
    open_demands: list[str]
    mission: str | None = None
    about_incident: str | None = None
    responses: int = 0


class OpenProtestsView(msgspec.Struct, frozen=True):
    """The read model: open protests, oldest first, a page at a time.

    ``count`` and ``open_demands`` count every protest that matches; ``protests`` lists a
    page of them. Pass ``next_after`` as ``after`` for the next page (``has_more``).
    """

    generated_at: datetime
    count: int
    open_demands: int
    protests: list[OpenProtest]
    next_after: str | None = None
    has_more: bool = False


# Where a protest comes in the view: oldest first, then by stream id.
ProtestKey = tuple[datetime, str]


def protest_order(protest: ProtestState) -> ProtestKey:
    """A protest's place in the view (a page's cursor names the last protest listed)."""
    return (protest.lodged_at, protest.stream_id)


def _party_matches(party: Party, wanted: str | None) -> bool:
    """A filter matches a party's ISO state code, or its body, case-insensitively."""
    if wanted is None:
        return True
    wanted = wanted.casefold()
    return (party.state or "").casefold() == wanted or (party.body or "").casefold() == wanted


def open_protests(
    protests: Iterable[ProtestState],
    now: datetime,
    by: str | None = None,
    to: str | None = None,
    mission: str | None = None,
    after: ProtestKey | None = None,
    limit: int | None = None,
) -> OpenProtestsView:
    """Protests not closed, filtered by who lodged them, with whom, and about which mission;
    the ``limit`` (all when None) that come after ``after`` in the view's order."""
    matching = [
        protest
        for protest in protests
        if protest.status == "open"
        and _party_matches(protest.by, by)
        and _party_matches(protest.to, to)
        and (mission is None or protest.mission == mission)
    ]
    matching.sort(key=protest_order)
    start = 0 if after is None else bisect_right(matching, after, key=protest_order)
    end = len(matching) if limit is None else min(len(matching), start + limit)
    rows = [_row(protest, now) for protest in matching[start:end]]
    return OpenProtestsView(
        generated_at=now,
        count=len(matching),
        open_demands=sum(
            1 for protest in matching for d in protest.demands if d.status in OPEN_DEMAND
        ),
        protests=rows,
        next_after=rows[-1].stream_id if rows else (after[1] if after else None),
        has_more=end < len(matching),
    )


def _row(protest: ProtestState, now: datetime) -> OpenProtest:
    demands = [
        DemandView(
            demand=d.demand,
            status=d.status,
            open=d.status in OPEN_DEMAND,
            answered_at=d.answered_at,
        )
        for d in protest.demands
    ]
    return OpenProtest(
        stream_id=protest.stream_id,
        by=protest.by,
        to=protest.to,
        form=protest.form,
        lodged_at=protest.lodged_at,
        days_open=max(0, (now - protest.lodged_at).days),
        demands=demands,
        open_demands=[d.demand for d in demands if d.open],
        mission=protest.mission,
        about_incident=protest.about_incident,
        responses=len(protest.responses),
    )
