"""Open protests: those not closed, each with its demands and which are still unmet.

A demand stays open until a ``DemandAnswered`` says ``met`` or ``rejected``; a partial
answer keeps it open (events.md).
"""

from __future__ import annotations

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
    """The read model: open protests, oldest first."""

    generated_at: datetime
    count: int
    open_demands: int
    protests: list[OpenProtest]


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
) -> OpenProtestsView:
    """Protests not closed, filtered by who lodged them, with whom, and about which mission."""
    rows: list[OpenProtest] = []
    for protest in protests:
        if protest.status != "open":
            continue
        if not (_party_matches(protest.by, by) and _party_matches(protest.to, to)):
            continue
        if mission is not None and protest.mission != mission:
            continue
        demands = [
            DemandView(
                demand=d.demand,
                status=d.status,
                open=d.status in OPEN_DEMAND,
                answered_at=d.answered_at,
            )
            for d in protest.demands
        ]
        rows.append(
            OpenProtest(
                stream_id=protest.stream_id,
                by=protest.by,
                to=protest.to,
                form=protest.form,
                lodged_at=protest.lodged_at,
                days_open=max(0, (now - protest.lodged_at).days) if protest.lodged_at else 0,
                demands=demands,
                open_demands=[d.demand for d in demands if d.open],
                mission=protest.mission,
                about_incident=protest.about_incident,
                responses=len(protest.responses),
            )
        )
    rows.sort(key=lambda row: (row.lodged_at is None, row.lodged_at, row.stream_id))
    return OpenProtestsView(
        generated_at=now,
        count=len(rows),
        open_demands=sum(len(row.open_demands) for row in rows),
        protests=rows,
    )
