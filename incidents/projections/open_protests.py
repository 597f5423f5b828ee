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

from incidents.domain.events import Party, Source
from incidents.domain.state import ProtestState, bound
from incidents.domain.times import date_label
from incidents.projections.ordered import Ordered, Page, Tag, Tags
from incidents.projections.slices import Named

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
    # The protest's citations (document and quote), with include=sources.
    sources: list[Source] | None = None
    # How well the text dates lodged_at (as the incidents view gives an incident's date):
    # a date known to a day is not shown as the midnight it is stored at.
    occurred_precision: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    occurred_label: str | None = None


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
    # The moment a view in time was computed for (GET ...?as_of=&known_at=); null for now.
    as_of: datetime | None = None
    known_at: datetime | None = None


# Where a protest comes in the view: oldest first, then by stream id.
ProtestKey = tuple[datetime, str]


def protest_order(protest: ProtestState) -> ProtestKey:
    """A protest's place in the view (a page's cursor names the last protest listed)."""
    return (protest.lodged_at, protest.stream_id)


def _party_tags(name: str, party: Party | Named) -> set[Tag]:
    """What a ``by`` or ``to`` filter (``name``) finds a party by: its ISO state code or its
    body, case-folded ("" for none)."""
    return {(name, (party.state or "").casefold()), (name, (party.body or "").casefold())}


def _party_matches(party: Party, wanted: str | None) -> bool:
    """A filter matches a party's ISO state code, or its body, case-insensitively."""
    return wanted is None or ("party", wanted.casefold()) in _party_tags("party", party)


def open_demands_of(protest: ProtestState) -> int:
    """How many of a protest's demands are still open (not met or rejected)."""
    return sum(1 for d in protest.demands if d.status in OPEN_DEMAND)


class ProtestFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which open protests a view counts and lists (None: any): who lodged them (``by``),
    with whom (``to``), each matched by a party's ISO state code or body case-insensitively,
    and the mission they concern."""

    by: str | None = None
    to: str | None = None
    mission: str | None = None

    def tags(self) -> list[Tag]:
        """The tags a protest must hold to match (:func:`protest_entry`)."""
        tags: list[Tag] = []
        if self.by is not None:
            tags.append(("by", self.by.casefold()))
        if self.to is not None:
            tags.append(("to", self.to.casefold()))
        if self.mission is not None:
            tags.append(("mission", self.mission))
        return tags


ANY_PROTEST = ProtestFilter()


def open_protests(
    protests: Iterable[ProtestState],
    now: datetime,
    where: ProtestFilter = ANY_PROTEST,
    after: ProtestKey | None = None,
    limit: int | None = None,
) -> OpenProtestsView:
    """Protests not closed that match ``where``: the ``limit`` (all when None) that come
    after ``after`` in the view's order."""
    matching = [
        protest
        for protest in protests
        if protest.status == "open"
        and _party_matches(protest.by, where.by)
        and _party_matches(protest.to, where.to)
        and (where.mission is None or protest.mission == where.mission)
    ]
    matching.sort(key=protest_order)
    start = 0 if after is None else bisect_right(matching, after, key=protest_order)
    end = len(matching) if limit is None else min(len(matching), start + limit)
    rows = [_row(protest, now) for protest in matching[start:end]]
    return OpenProtestsView(
        generated_at=now,
        count=len(matching),
        open_demands=sum(open_demands_of(protest) for protest in matching),
        protests=rows,
        next_after=rows[-1].stream_id if rows else (after[1] if after else None),
        has_more=end < len(matching),
    )


class ProtestTotals:
    """What the view counts over the protests that match: them, and their open demands."""

    __slots__ = ("count", "open_demands")

    def __init__(self) -> None:
        self.count = 0
        self.open_demands = 0

    def add(self, key: ProtestKey, tags: Tags, open_demands: int, sign: int) -> None:
        """Count a protest (its open demands the entry's value) in or out."""
        self.count += sign
        self.open_demands += sign * open_demands


# Where each open protest comes in the view (incidents.projections.ordered).
HeldProtests = Ordered[ProtestKey, int, ProtestTotals]


def protest_entry(protest: ProtestState) -> tuple[ProtestKey, Tags, int]:
    """The protest's place in the view, the filter values it is found by (who lodged it,
    with whom, its mission) and its open demands; ``protest`` may be its place
    (:data:`incidents.projections.slices.ProtestPlace`), cut from it."""
    tags = _party_tags("by", protest.by) | _party_tags("to", protest.to)
    if protest.mission is not None:
        tags.add(("mission", protest.mission))
    # The mission it was handed to, when that is another: its row counts the protest too.
    if protest.via_mission is not None and protest.via_mission != protest.mission:
        tags.add((HANDED_TO, protest.via_mission))
    return protest_order(protest), tuple(sorted(tags)), open_demands_of(protest)


HANDED_TO = "via_mission"


def held_protests() -> HeldProtests:
    """An empty holder of open protests' places in the view."""
    return Ordered(ProtestTotals)


def select_open_protests(
    held: HeldProtests,
    where: ProtestFilter = ANY_PROTEST,
    after: ProtestKey | None = None,
    limit: int | None = None,
) -> Page[ProtestTotals]:
    """The page of :func:`open_protests` from the places ``held``: which protests, in order,
    and the counts of all that match."""
    return held.page(where.tags(), after, limit)


def open_protests_page(
    page: Page[ProtestTotals],
    protests: Iterable[ProtestState],
    now: datetime,
    after: str | None = None,
) -> OpenProtestsView:
    """The view of a page selected by :func:`select_open_protests`, given its protests in
    the page's order (any closed since it was selected left out)."""
    rows = [_row(protest, now) for protest in protests if protest.status == "open"]
    return OpenProtestsView(
        generated_at=now,
        count=page.totals.count,
        open_demands=page.totals.open_demands,
        protests=rows,
        next_after=page.stream_ids[-1] if page.stream_ids else after,
        has_more=page.has_more,
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
    after, before = bound(protest.occurred_after), bound(protest.occurred_before)
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
        occurred_precision=protest.occurred_precision,
        occurred_after=after,
        occurred_before=before,
        occurred_label=date_label(
            protest.lodged_at, protest.occurred_precision, protest.occurred_zone, after, before
        ),
    )
