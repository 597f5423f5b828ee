"""The desk's read models: statements, response times, the escalation ladder, a timeline.

Each view is a pure function of the states (or, for the timeline, the events) it folds, so a
reader of another time axis (``as_of``, ``known_at``) can hand it another set of them:

- :func:`statements_view`: statements and resolutions by state and body, with what each
  responds to;
- :func:`response_times_view`: per host state and per ministry, notes sent, answered and
  unanswered, days to reply (median, 90th percentile), the share overdue, police response
  minutes, protests' demands met, refused and open;
- :func:`relations_view`: per pair of states, the highest rung reached on the ladder
  statement → note → protest → summons → recall (and whether a return followed), with each
  rung's history;
- :func:`timeline_items`: a mission's events in occurred order, each with its date as the
  text gives it and its sources.

Dates are shown as :func:`incidents.domain.times.date_label` reads them: a bounded date as
its bounds, an undated one as null, never a loose date as exact.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import msgspec

from incidents.domain.events import Party, Source
from incidents.domain.state import (
    HeadOfMission,
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    StatementState,
    bound,
)
from incidents.domain.times import date_label

# --- what a view shows of a date ----------------------------------------------------------


class Dated(msgspec.Struct, frozen=True, kw_only=True):
    """A date as the text gives it: the instant recorded, its precision and bounds, and how
    it reads (``label``: a bounded date as its bounds, an undated one null)."""

    at: datetime
    precision: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    label: str | None = None


def dated(
    at: datetime,
    precision: str | None = None,
    zone: str | None = None,
    after: Any = None,
    before: Any = None,
) -> Dated:
    """A :class:`Dated` from an occurred_at, its precision, zone and bounds (UNSET or None
    where absent)."""
    first, last = bound(after), bound(before)
    return Dated(
        at=at,
        precision=precision,
        after=first,
        before=last,
        label=date_label(at, precision, zone, first, last),  # type: ignore[arg-type]
    )


def _dated_of(fact: Any, at: datetime) -> Dated:
    """The :class:`Dated` of a state's or an event's fact that happened ``at``, from its
    ``occurred_precision``, ``occurred_zone`` and bounds."""
    return dated(
        at,
        fact.occurred_precision,
        fact.occurred_zone,
        fact.occurred_after,
        fact.occurred_before,
    )


def _party_name(party: Party | None) -> str | None:
    if party is None:
        return None
    return " / ".join(part for part in (party.state, party.body) if part) or None


# --- statements ---------------------------------------------------------------------------


class StatementRow(msgspec.Struct, frozen=True, kw_only=True):
    """A statement or a resolution, with what it responds to."""

    stream_id: str
    kind: str
    state: str | None
    body: str | None
    person: str | None = None
    stance: str | None = None
    title: str | None = None
    summary: str | None = None
    about: str | None = None
    responds_to: str | None = None
    related: list[str] = []
    mission: str | None = None
    issued: Dated
    sources: list[Source] | None = None


class StatementsView(msgspec.Struct, frozen=True, kw_only=True):
    """Statements and resolutions, oldest first, with counts by state and by body."""

    count: int
    by_state: dict[str, int]
    by_body: dict[str, int]
    statements: list[StatementRow]
    next_after: str | None = None
    has_more: bool = False
    # The moment the view is for (the query's as_of and known_at), echoed; None: not given.
    as_of: datetime | None = None
    known_at: datetime | None = None


def statement_row(state: StatementState, known: Mapping[str, str], sources: bool) -> StatementRow:
    """One statement's row; ``known`` maps stream ids to their category, so that an
    ``about`` naming a stream of the log reads as what the statement responds to."""
    party = state.by or state.body
    about = state.about
    return StatementRow(
        stream_id=state.stream_id,
        kind=state.kind,
        state=party.state if party else None,
        body=party.body if party else None,
        person=party.person if party else None,
        stance=state.stance,
        title=state.title,
        summary=state.summary,
        about=about,
        responds_to=about if about is not None and about in known else None,
        related=list(state.related),
        mission=state.mission,
        issued=_dated_of(state, state.issued_at),
        sources=list(state.sources) if sources else None,
    )


def statement_rows(
    statements: Iterable[StatementState],
    known: Mapping[str, str] | None = None,
    *,
    sources: bool = False,
) -> list[StatementRow]:
    """Every statement's row, oldest first (then by stream id)."""
    rows = [statement_row(statement, known or {}, sources) for statement in statements]
    rows.sort(key=lambda row: (row.issued.at, row.stream_id))
    return rows


def statements_page(
    rows: Sequence[StatementRow],
    *,
    state: str | None = None,
    body: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> StatementsView:
    """The rows (in view order) made by ``state`` or ``body`` (any, when None), the
    ``limit`` after the statement ``after``, with the counts of all that match."""
    if state is not None or body is not None:
        wanted_state = state.upper() if state is not None else None
        wanted_body = body.casefold() if body is not None else None
        rows = [
            row
            for row in rows
            if (wanted_state is None or row.state == wanted_state)
            and (wanted_body is None or (row.body or "").casefold() == wanted_body)
        ]
    start = 0
    if after is not None:
        start = next((i + 1 for i, row in enumerate(rows) if row.stream_id == after), len(rows))
    end = len(rows) if limit is None else min(len(rows), start + limit)
    return StatementsView(
        count=len(rows),
        by_state=dict(sorted(Counter(row.state or "none" for row in rows).items())),
        by_body=dict(sorted(Counter(row.body or "none" for row in rows).items())),
        statements=list(rows[start:end]),
        next_after=rows[end - 1].stream_id if end > start else after,
        has_more=end < len(rows),
    )


def statements_view(
    statements: Iterable[StatementState],
    known: Mapping[str, str] | None = None,
    *,
    state: str | None = None,
    body: str | None = None,
    after: str | None = None,
    limit: int | None = None,
    sources: bool = False,
) -> StatementsView:
    """Statements and resolutions filtered by the state or the body that made them; oldest
    first (then by stream id), the ``limit`` after the statement ``after``."""
    rows = statement_rows(statements, known, sources=sources)
    return statements_page(rows, state=state, body=body, after=after, limit=limit)


# --- response times -----------------------------------------------------------------------

DAY_SECONDS = 86_400.0


class ResponseTimes(msgspec.Struct, frozen=True, kw_only=True):
    """How one host state, or one ministry, answers notes and protests."""

    group: str
    state: str | None
    body: str | None = None
    notes_sent: int = 0
    notes_answered: int = 0
    notes_unanswered: int = 0
    reply_days_median: float | None = None
    reply_days_p90: float | None = None
    overdue: int = 0
    overdue_share: float | None = None
    incidents: int = 0
    police_response_minutes_median: float | None = None
    police_responses_known: int = 0
    demands_met: int = 0
    demands_partially_met: int = 0
    demands_refused: int = 0
    demands_open: int = 0
    sources: list[Source] | None = None


class ResponseTimesView(msgspec.Struct, frozen=True, kw_only=True):
    """Per host state and per ministry; a note is overdue when it was answered after its
    due time, or is still unanswered past it (``reply_due_at``, else the mission's reply
    window, else the default ``reply_window_days``)."""

    reply_window_days: int
    by_host_state: list[ResponseTimes]
    by_ministry: list[ResponseTimes]
    # The moment the view is for (the query's as_of and known_at), echoed; None: not given.
    as_of: datetime | None = None
    known_at: datetime | None = None


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted ``values`` (nearest rank), None when there are none."""
    if not values:
        return None
    rank = max(0, min(len(values) - 1, int(q * len(values) + 0.999999) - 1))
    return round(values[rank], 3)


class _Tally:
    __slots__ = (
        "answered",
        "demands",
        "incidents",
        "minutes",
        "overdue",
        "replies",
        "sent",
        "sources",
    )

    def __init__(self) -> None:
        self.sent = self.answered = self.overdue = self.incidents = 0
        self.replies: list[float] = []
        self.minutes: list[float] = []
        self.demands: Counter[str] = Counter()
        self.sources: list[Source] = []


def _add_sources(tally: _Tally, found: Iterable[Source], cap: int) -> None:
    for source in found:
        if len(tally.sources) >= cap:
            return
        if source not in tally.sources:
            tally.sources.append(source)


class NoteFacts(NamedTuple):
    """What a note adds to the response times: the host state and ministry it was
    addressed to, its due time, the days it took to be answered (None: unanswered) and
    whether that answer came late."""

    host: str
    body: str | None
    due: datetime
    reply_days: float | None
    late: bool


def note_facts(note: Any, windows: Mapping[str, int], reply_window_days: int) -> NoteFacts | None:
    """A note's :class:`NoteFacts`; None for a withdrawn note or one to no state.
    ``windows``: each mission's reply window, where it sets one."""
    host = note.to.state
    if host is None or note.status == "withdrawn":
        return None
    due = note.reply_due_at
    if due is None:
        due = note.sent_at + timedelta(days=windows.get(note.mission or "", reply_window_days))
    answered = note.answered_at
    if answered is None:
        return NoteFacts(host, note.to.body, due, None, False)
    days = (answered - note.sent_at).total_seconds() / DAY_SECONDS
    return NoteFacts(host, note.to.body, due, days, answered > due)


def incident_host(incident: Any, receiving: Mapping[str, str]) -> str | None:
    """Where an incident happened: its location's state, else its mission's receiving
    state."""
    host = incident.location.state if incident.location and incident.location.state else None
    return host or receiving.get(incident.mission or "")


def times_row(
    group: str,
    state: str,
    body: str | None,
    *,
    sent: int,
    answered: int,
    replies: Sequence[float],
    overdue: int,
    incidents: int,
    minutes: Sequence[float],
    demands: Mapping[str, int],
    sources: list[Source] | None = None,
) -> ResponseTimes:
    """One row of the response times from its counts and its sorted reply days and police
    minutes."""
    return ResponseTimes(
        group=group,
        state=state,
        body=body,
        notes_sent=sent,
        notes_answered=answered,
        notes_unanswered=sent - answered,
        reply_days_median=quantile(replies, 0.5),
        reply_days_p90=quantile(replies, 0.9),
        overdue=overdue,
        overdue_share=round(overdue / sent, 4) if sent else None,
        incidents=incidents,
        police_response_minutes_median=quantile(minutes, 0.5),
        police_responses_known=len(minutes),
        demands_met=demands.get("met", 0),
        demands_partially_met=demands.get("partially_met", 0),
        demands_refused=demands.get("rejected", 0),
        demands_open=demands.get("open", 0),
        sources=sources,
    )


def response_times_view(
    notes: Iterable[NoteState],
    incidents: Iterable[IncidentState],
    protests: Iterable[ProtestState],
    missions: Iterable[MissionState],
    now: datetime,
    reply_window_days: int,
    *,
    sources: bool = False,
    sources_per_row: int = 20,
) -> ResponseTimesView:
    """Fold the notes, incidents and protests into rows per host state (the state a note
    or protest was addressed to, where an incident happened) and per ministry (the state and
    body a note was addressed to). With ``sources``, each row lists the sources of the
    streams it counts, at most ``sources_per_row``."""
    windows: dict[str, int] = {}
    receiving: dict[str, str] = {}
    for mission in missions:
        receiving[mission.stream_id] = mission.receiving_state
        if mission.reply_window_days is not None:
            windows[mission.stream_id] = mission.reply_window_days
    by_state: dict[str, _Tally] = defaultdict(_Tally)
    by_ministry: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for note in notes:
        facts = note_facts(note, windows, reply_window_days)
        if facts is None:
            continue
        tallies = [by_state[facts.host]]
        if facts.body:
            tallies.append(by_ministry[(facts.host, facts.body)])
        answered = facts.reply_days is not None
        late = facts.late if answered else now > facts.due
        for tally in tallies:
            tally.sent += 1
            if facts.reply_days is not None:
                tally.answered += 1
                tally.replies.append(facts.reply_days)
            tally.overdue += late
            if sources:
                _add_sources(tally, note.sources, sources_per_row)
    for incident in incidents:
        host = incident_host(incident, receiving)
        if host is None:
            continue
        tally = by_state[host]
        tally.incidents += 1
        if incident.response_minutes is not None:
            tally.minutes.append(incident.response_minutes)
        if sources:
            _add_sources(tally, incident.sources, sources_per_row)
    for protest in protests:
        host = protest.to.state
        if host is None:
            continue
        tally = by_state[host]
        for demand in protest.demands:
            tally.demands[demand.status] += 1
        if sources:
            _add_sources(tally, protest.sources, sources_per_row)

    def row(group: str, state: str, body: str | None, tally: _Tally) -> ResponseTimes:
        return times_row(
            group,
            state,
            body,
            sent=tally.sent,
            answered=tally.answered,
            replies=sorted(tally.replies),
            overdue=tally.overdue,
            incidents=tally.incidents,
            minutes=sorted(tally.minutes),
            demands=tally.demands,
            sources=tally.sources if sources else None,
        )

    return ResponseTimesView(
        reply_window_days=reply_window_days,
        by_host_state=[row(s, s, None, t) for s, t in sorted(by_state.items())],
        by_ministry=[row(f"{s}: {b}", s, b, t) for (s, b), t in sorted(by_ministry.items())],
    )


# --- relations ----------------------------------------------------------------------------

# The escalation ladder, lowest first.
RUNGS = ("statement", "note", "protest", "summons", "recall")


class Rung(msgspec.Struct, frozen=True, kw_only=True):
    """One rung of a relation's history: how often it was reached, first and last."""

    rung: str
    count: int
    first: Dated
    first_stream: str
    latest: Dated
    latest_stream: str


class Relation(msgspec.Struct, frozen=True, kw_only=True):
    """Where a pair of states stands on the ladder; ``returned`` when a head of mission
    recalled between them is back."""

    states: list[str]
    highest: str
    returned: bool = False
    history: list[Rung]
    sources: list[Source] | None = None


class RelationsView(msgspec.Struct, frozen=True, kw_only=True):
    """Every pair of states with a step on the ladder, by the pair's codes."""

    count: int
    relations: list[Relation]
    # The moment the view is for (the query's as_of and known_at), echoed; None: not given.
    as_of: datetime | None = None
    known_at: datetime | None = None


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One step on the ladder between two states, as a stream's state gives it."""

    pair: tuple[str, str]
    rung: str
    stream_id: str
    date: Dated
    sources: tuple[Source, ...] = ()
    returned: bool = False


def _pair(one: str | None, other: str | None) -> tuple[str, str] | None:
    if one is None or other is None or one == other:
        return None
    first, second = sorted((one, other))
    return first, second


def statement_counterpart(
    statement: StatementState,
    states_of: Mapping[str, str],
) -> str | None:
    """The state a statement addresses: the state of the stream it is ``about`` (or, failing
    that, the first of its ``related``) other than its own (``states_of``: a stream id's
    state as the ladder reads it)."""
    own = (statement.by or statement.body or Party(body="-")).state
    for reference in (statement.about, *statement.related):
        other = states_of.get(reference or "")
        if other is not None and other != own:
            return other
    return None


def relation_step(
    category: str, state: Any, states_of: Mapping[str, str], *, sources: bool = False
) -> Step | None:
    """The step a stream takes on the ladder, if any: a note from one state to another; a
    protest (a summons when its form is one); a statement about another state's stream
    (``states_of``: a stream id's state as the ladder reads it); a recall (or a return) of
    a mission's head between its sending and receiving state."""
    cited = tuple(state.sources) if sources else ()
    if category == "note":
        pair = _pair(state.from_.state, state.to.state)
        if pair:
            date = _dated_of(state, state.sent_at)
            return Step(pair=pair, rung="note", stream_id=state.stream_id, date=date, sources=cited)
    elif category == "protest":
        pair = _pair(state.by.state, state.to.state)
        if pair:
            rung = "summons" if state.form == "summons" else "protest"
            date = _dated_of(state, state.lodged_at)
            return Step(pair=pair, rung=rung, stream_id=state.stream_id, date=date, sources=cited)
    elif category == "statement":
        party = state.by or state.body
        pair = _pair(party.state if party else None, statement_counterpart(state, states_of))
        if pair:
            date = _dated_of(state, state.issued_at)
            return Step(
                pair=pair, rung="statement", stream_id=state.stream_id, date=date, sources=cited
            )
    elif category == "mission":
        head: HeadOfMission | None = state.head_of_mission
        pair = _pair(state.sending_state, state.receiving_state)
        if head is not None and pair is not None and head.status != "appointed":
            return Step(
                pair=pair,
                rung="recall",
                stream_id=state.stream_id,
                date=dated(head.since, head.precision, None, head.after, head.before),
                sources=cited,
                returned=head.status == "returned",
            )
    return None


def relation_steps(
    notes: Iterable[NoteState],
    protests: Iterable[ProtestState],
    statements: Iterable[StatementState],
    missions: Iterable[MissionState],
    states_of: Mapping[str, str],
    *,
    sources: bool = False,
) -> list[Step]:
    """Every step the states take (:func:`relation_step`)."""
    steps: list[Step] = []
    for category, states in (
        ("note", notes),
        ("protest", protests),
        ("statement", statements),
        ("mission", missions),
    ):
        for state in states:
            step = relation_step(category, state, states_of, sources=sources)
            if step is not None:
                steps.append(step)
    return steps


def relation(pair: tuple[str, str], history: list[Rung], returned: bool, found: Any) -> Relation:
    """A pair's relation from its rungs, lowest first."""
    return Relation(
        states=list(pair),
        highest=history[-1].rung,
        returned=returned,
        history=history,
        sources=found,
    )


def relations_view(steps: Iterable[Step], *, sources: bool = False) -> RelationsView:
    """Fold the steps into one relation per pair of states."""
    by_pair: dict[tuple[str, str], list[Step]] = defaultdict(list)
    for step in steps:
        by_pair[step.pair].append(step)
    relations = []
    for pair, taken in sorted(by_pair.items()):
        history = []
        for rung in RUNGS:
            on = sorted(
                (s for s in taken if s.rung == rung), key=lambda s: (s.date.at, s.stream_id)
            )
            if on:
                history.append(
                    Rung(
                        rung=rung,
                        count=len(on),
                        first=on[0].date,
                        first_stream=on[0].stream_id,
                        latest=on[-1].date,
                        latest_stream=on[-1].stream_id,
                    )
                )
        found: list[Source] = []
        if sources:
            for step in taken:
                found.extend(s for s in step.sources if s not in found)
        returned = any(s.returned for s in taken)
        relations.append(relation(pair, history, returned, found if sources else None))
    return RelationsView(count=len(relations), relations=relations)


# --- timeline -----------------------------------------------------------------------------


class _EventFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What a timeline item shows of an event's data (every other field skipped)."""

    title: str | None = None
    subject: str | None = None
    summary: str | None = None
    description: str | None = None
    reason: str | None = None
    name: str | None = None
    occurred_precision: str | None = None
    occurred_zone: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    sources: list[Source] = []


_decode_facts = msgspec.json.Decoder(_EventFacts).decode


class TimelineItem(msgspec.Struct, frozen=True, kw_only=True):
    """One event in a mission's timeline."""

    position: int
    stream_id: str
    version: int
    type: str
    what: str | None
    occurred: Dated
    sources: list[Source]


class TimelineView(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a mission's timeline: its events, oldest first; pass ``next_after`` as
    ``after`` for the next page (``has_more``)."""

    mission: str
    count: int
    items: list[TimelineItem]
    next_after: int | None = None
    has_more: bool = False
    # The moment the view is for (the query's as_of and known_at), echoed; None: not given.
    as_of: datetime | None = None
    known_at: datetime | None = None


def timeline_item(event: Any) -> TimelineItem:
    """A logged event (``RecordedEvent``) as the timeline shows it: what it says in a line
    (its title, subject, summary, description, reason or name), its date, its sources."""
    facts = _decode_facts(event.data)
    what = facts.title or facts.subject or facts.summary or facts.description
    return TimelineItem(
        position=event.position,
        stream_id=event.stream_id,
        version=event.version,
        type=event.type,
        what=what or facts.reason or facts.name,
        occurred=_dated_of(facts, event.occurred_at),
        sources=facts.sources,
    )


def timeline_order(event: Any) -> tuple[datetime, int]:
    """Where an event comes in a timeline: by occurred_at (a loose date at the time the log
    records for it, which the seeds put on a bound), then by position."""
    return event.occurred_at, event.position


def timeline_view(
    mission: str,
    events: Iterable[Any],
    touches: Mapping[str, Iterable[str]],
    *,
    after: int | None = None,
    limit: int | None = None,
) -> TimelineView:
    """The timeline of ``mission`` from ``events`` (any order): those of the streams that
    touch it (``touches``: each stream id's missions, see :func:`missions_touched`)."""
    chosen = sorted(
        (e for e in events if mission in touches.get(e.stream_id, ())), key=timeline_order
    )
    start = 0
    if after is not None:
        start = next((i + 1 for i, e in enumerate(chosen) if e.position == after), len(chosen))
    end = len(chosen) if limit is None else min(len(chosen), start + limit)
    return TimelineView(
        mission=mission,
        count=len(chosen),
        items=[timeline_item(e) for e in chosen[start:end]],
        next_after=chosen[end - 1].position if end > start else after,
        has_more=end < len(chosen),
    )


class _Opening(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The references an opening event makes to missions and other streams."""

    mission: str | None = None
    via_mission: str | None = None
    about_incident: str | None = None
    about: str | None = None
    related: list[str] = []
    in_reply_to: str | None = None


_decode_opening = msgspec.json.Decoder(_Opening).decode


def references(data: bytes | msgspec.Raw) -> _Opening:
    """The references a stream's opening event (or its state: the fields have the same
    names) makes to missions and to other streams."""
    return _decode_opening(data)


def missions_of(
    stream_id: str, opening: _Opening, touches: Mapping[str, Iterable[str]]
) -> tuple[str, ...]:
    """:func:`missions_touched` from a stream's :func:`references`."""
    if stream_id.startswith("mission-"):
        return (stream_id,)
    found: dict[str, None] = {}
    for name in (opening.mission, opening.via_mission):
        if name:
            found[name] = None
    for reference in (opening.about_incident, opening.about, opening.in_reply_to, *opening.related):
        if not reference:
            continue
        if reference.startswith("mission-"):
            found[reference] = None
        for name in touches.get(reference, ()):
            found[name] = None
    return tuple(found)


def missions_touched(
    stream_id: str, data: bytes | msgspec.Raw, touches: Mapping[str, Iterable[str]]
) -> tuple[str, ...]:
    """The missions a stream touches, from its opening event's data (or its state): a
    mission's own stream; the mission a stream names (``mission``) and the one a protest was
    handed to (``via_mission``); and the missions of the streams it is about or related to
    (an incident, a statement, a note replied to), as ``touches`` already holds them."""
    return missions_of(stream_id, references(data), touches)


def all_missions_touched(openings: Mapping[str, _Opening]) -> dict[str, tuple[str, ...]]:
    """:func:`missions_touched` for every stream at once (``openings``: each stream's
    :func:`references`), whatever order they came in: first what each names itself, then
    what the streams it refers to name."""
    direct = {sid: missions_of(sid, opening, {}) for sid, opening in openings.items()}
    return {sid: missions_of(sid, opening, direct) for sid, opening in openings.items()}


def referenced_streams(opening: _Opening) -> tuple[str, ...]:
    """The streams other than missions whose missions a stream's timeline places take on
    (see :func:`missions_touched`)."""
    found = (opening.about_incident, opening.about, opening.in_reply_to, *opening.related)
    return tuple(ref for ref in found if ref and not ref.startswith("mission-"))


def ladder_state(category: str, state: Any, receiving: Mapping[str, str]) -> str | None:
    """The state a stream stands for when a statement refers to it: a statement's author,
    a mission's sending state, a note's sender, a protest's author, an incident's place
    (else its mission's receiving state)."""
    if category == "statement":
        party = state.by or state.body
        return party.state if party else None
    if category == "mission":
        return str(state.sending_state)
    if category == "note":
        return state.from_.state  # type: ignore[no-any-return]
    if category == "protest":
        return state.by.state  # type: ignore[no-any-return]
    if category == "incident":
        return incident_host(state, receiving)
    return None
