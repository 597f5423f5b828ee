"""The rules of the log: which event may follow which, and what each event makes of a stream.

``decide(state, event, envelope)`` answers whether an event may be appended to a stream in a
state (None, or the :class:`RuleBreak` it would cause); ``evolve(state, event, envelope)``
folds it in. Both are pure. :class:`DomainRules` plugs them into the store as its
``StreamRules``: the store calls it inside each append's transaction.

A state does not keep the stream's events. The one fold that needs them, a correction
(the stream folded again from its first event), gets them as ``history``: the store loads a
stream's events before an append whose types :meth:`DomainRules.needs_history` names.

Rule ids are short and stable; docs/events.md explains each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import msgspec
from msgspec.structs import replace

from incidents.core.envelope import LoggedEvent, RecordedEvent
from incidents.core.errors import RuleViolation
from incidents.core.snapshots import StreamSnapshot
from incidents.core.streams import category_of
from incidents.domain.events import (
    CATEGORY_OF_TYPE,
    CORRECTION_TYPES,
    OPENING_TYPES,
    TYPES_BY_CATEGORY,
    CasualtiesReported,
    CompensationPaid,
    Correction,
    CorrespondenceSummarized,
    DamageRecorded,
    DemandAnswered,
    DomainEvent,
    EventData,
    HeadOfMissionAppointed,
    HeadOfMissionRecalled,
    HeadOfMissionReturned,
    IncidentClosed,
    IncidentReported,
    InvestigationOpened,
    MissionRegistered,
    NoteAcknowledged,
    NoteSent,
    NoteWithdrawn,
    PoliceResponded,
    ProsecutionStarted,
    ProtestClosed,
    ProtestLodged,
    ProtestResponseReceived,
    ReplyReceived,
    ResolutionAdopted,
    StatementIssued,
    Time,
    UnknownEventType,
    decode_data,
    type_name,
)
from incidents.domain.state import (
    Casualties,
    CasualtyReport,
    CorrectionEntry,
    CorrespondenceEntry,
    DamageEntry,
    DemandState,
    HeadOfMission,
    HeadStatus,
    IncidentState,
    Measure,
    MissionState,
    NoteState,
    PoliceResponse,
    ProtestResponse,
    ProtestState,
    Reply,
    State,
    StatementState,
    as_bound,
    bound,
    decode_state,
    encode_state,
    is_open,
    mission_of,
)
from incidents.domain.times import (
    DateRule,
    check_in_range,
    earliest_possible,
    kept_as_of,
    latest_possible,
    span,
)

_CORRECTION_NAMES = frozenset(CORRECTION_TYPES.values())
# Categories whose opening event dates the stream: nothing in them can precede it.
_DATED_BY_OPENING = frozenset({"incident", "note", "protest"})
_SETTLED_DEMAND = frozenset({"met", "rejected"})
# The list of an incident's state that each kind of measure is added to.
_MEASURES: dict[type[DomainEvent], str] = {
    InvestigationOpened: "investigations",
    ProsecutionStarted: "prosecutions",
    CompensationPaid: "compensations",
}

_decode_json = msgspec.json.Decoder()
_encode_json = msgspec.json.Encoder(order="deterministic")
_decode_time = msgspec.json.Decoder(Time)


class RuleBreak(msgspec.Struct, frozen=True):
    """Why an event may not be appended: a stable rule id and a sentence for people."""

    rule: str
    detail: str


class HistoryRequiredError(ValueError):
    """A correction was folded without the stream's earlier events (a caller's bug)."""


class Envelope(msgspec.Struct, frozen=True):
    """What the fold needs of an event besides its body: where and when, and the logged data."""

    stream_id: str
    event_id: UUID
    occurred_at: datetime
    data: msgspec.Raw


# --- decide -------------------------------------------------------------------------------


def decide(
    state: State | None,
    event: DomainEvent,
    envelope: Envelope,
    history: Sequence[LoggedEvent] | None = None,
) -> RuleBreak | None:
    """The rule the event would break if appended to a stream in ``state``, or None.

    ``history`` is the stream's events so far, oldest first; only a correction reads it,
    and raises HistoryRequiredError without it.
    """
    name = type_name(event)
    category = category_of(envelope.stream_id)
    accepted = TYPES_BY_CATEGORY.get(category)
    if accepted is None:
        return RuleBreak("unknown-category", f"{category!r} is not a stream category")
    if name not in accepted:
        return RuleBreak(
            "type-not-in-category",
            f"{name} belongs to {CATEGORY_OF_TYPE[name]} streams, not to {category} streams",
        )
    if broken := _outside_bounds(event, envelope):
        return broken
    openings = OPENING_TYPES[category]
    if state is None:
        if name not in openings:
            return RuleBreak(
                "opening-event-first",
                f"a {category} stream must open with {' or '.join(sorted(openings))}, not {name}",
            )
        return _decide_opening(event, envelope)
    if name in openings:
        return RuleBreak(
            "opening-event-repeated", f"{name} opens a {category} stream; this one is open"
        )
    if isinstance(event, Correction):
        refolded = _refold(state, event, envelope, _required(history))
        return refolded if isinstance(refolded, RuleBreak) else None
    if category in _DATED_BY_OPENING and (broken := _before_opening(state, event, envelope)):
        return broken
    if isinstance(state, NoteState):
        return _decide_note(state, event)
    if isinstance(state, ProtestState):
        return _decide_protest(state, event)
    if isinstance(state, IncidentState):
        return _decide_incident(state, event)
    if isinstance(state, MissionState):
        return _decide_mission(state, event)
    return None


def _outside_bounds(event: DomainEvent, envelope: Envelope) -> RuleBreak | None:
    at = envelope.occurred_at
    after, before = event.occurred_after, event.occurred_before
    if (after is not None and at < after) or (before is not None and at > before):
        return RuleBreak(
            "occurred-outside-bounds",
            f"occurred_at {at.isoformat()} is outside occurred_after/occurred_before",
        )
    return None


def _decide_opening(event: DomainEvent, envelope: Envelope) -> RuleBreak | None:
    at = envelope.occurred_at
    due = event.reply_due_at if isinstance(event, NoteSent) else None
    if due is not None and _certainly_before(due, event, at):
        return RuleBreak(
            "reply-due-before-sent", f"reply_due_at {due.isoformat()} is before the note was sent"
        )
    ended = event.ended_at if isinstance(event, IncidentReported) else None
    if ended is not None and _certainly_before(ended, event, at):
        return RuleBreak(
            "ended-before-occurred",
            f"ended_at {ended.isoformat()} is before occurred_at {at.isoformat()}",
        )
    return None


def _certainly_before(later: datetime, event: DomainEvent, at: datetime) -> bool:
    """Whether a time the opening event gives (``later``) is certainly before the event
    occurred (at ``at``, as precisely as the event says)."""
    earliest = earliest_possible(at, event.occurred_precision, event.occurred_after)
    return earliest is not None and later < earliest


def opening_time(state: State) -> datetime:
    """When the stream's opening event occurred (as corrected)."""
    if isinstance(state, NoteState):
        return state.sent_at
    if isinstance(state, ProtestState):
        return state.lodged_at
    if isinstance(state, IncidentState):
        return state.occurred_at
    if isinstance(state, MissionState):
        return state.registered_at
    return state.issued_at


def _before_opening(state: State, event: DomainEvent, envelope: Envelope) -> RuleBreak | None:
    # Only a fact certainly earlier than the opening is refused: loose dates get their period.
    opened = earliest_possible(
        opening_time(state), state.occurred_precision, bound(state.occurred_after)
    )
    latest = latest_possible(envelope.occurred_at, event.occurred_precision, event.occurred_before)
    if opened is None or latest is None or latest >= opened:
        return None
    return RuleBreak(
        "occurred-before-opening",
        f"{type_name(event)} occurred at {envelope.occurred_at.isoformat()}, before the "
        f"stream's opening event ({opening_time(state).isoformat()})",
    )


def _only_corrections(why: str, event: DomainEvent) -> str:
    """Why nothing but a correction may follow in a stream that has come to its end."""
    return f"{why}; only a correction may follow, not {type_name(event)}"


def _decide_note(state: NoteState, event: DomainEvent) -> RuleBreak | None:
    if not isinstance(event, NoteAcknowledged | ReplyReceived | NoteWithdrawn):
        return None
    if state.status == "answered":
        return RuleBreak("note-already-answered", _only_corrections("the note was answered", event))
    if state.status == "withdrawn":
        return RuleBreak("note-withdrawn", _only_corrections("the note was withdrawn", event))
    if isinstance(event, NoteAcknowledged) and state.status == "acknowledged":
        return RuleBreak("note-already-acknowledged", "the note's receipt was acknowledged before")
    return None


def _decide_protest(state: ProtestState, event: DomainEvent) -> RuleBreak | None:
    if state.status == "closed":
        return RuleBreak("protest-closed", _only_corrections("the protest is closed", event))
    if isinstance(event, DemandAnswered):
        demand = next((d for d in state.demands if d.demand == event.demand), None)
        if demand is None:
            made = ", ".join(d.demand for d in state.demands) or "none"
            return RuleBreak(
                "demand-not-in-protest",
                f"{event.demand!r} is not a demand of this protest (its demands: {made})",
            )
        if demand.status in _SETTLED_DEMAND:
            return RuleBreak(
                "demand-already-answered",
                f"the demand {event.demand!r} was answered {demand.status!r} and is settled",
            )
    return None


def _decide_incident(state: IncidentState, event: DomainEvent) -> RuleBreak | None:
    if state.status == "closed":
        return RuleBreak("incident-closed", _only_corrections("the incident is closed", event))
    if isinstance(event, PoliceResponded):
        began = earliest_possible(
            state.occurred_at, state.occurred_precision, bound(state.occurred_after)
        )
        if began is not None and event.arrived_at < began:
            return RuleBreak(
                "police-before-incident",
                f"arrived_at {event.arrived_at.isoformat()} is before the incident occurred "
                f"({state.occurred_at.isoformat()})",
            )
    return None


def _decide_mission(state: MissionState, event: DomainEvent) -> RuleBreak | None:
    head = state.head_of_mission
    if isinstance(event, HeadOfMissionRecalled):
        if head is not None and head.status == "recalled":
            return RuleBreak(
                "head-of-mission-already-recalled", "the head of mission is recalled already"
            )
        return _same_head(head, event.name)
    if isinstance(event, HeadOfMissionReturned):
        if head is None or head.status != "recalled":
            return RuleBreak(
                "head-of-mission-not-recalled", "only a recalled head of mission can return"
            )
        return _same_head(head, event.name)
    return None


def _same_head(head: HeadOfMission | None, name: str | None) -> RuleBreak | None:
    if head is None or head.name is None or name is None or head.name == name:
        return None
    return RuleBreak(
        "head-of-mission-name-mismatch",
        f"the head of mission on record is {head.name!r}, not {name!r}",
    )


# --- evolve -------------------------------------------------------------------------------


def evolve(
    state: State | None,
    event: DomainEvent,
    envelope: Envelope,
    history: Sequence[LoggedEvent] | None = None,
) -> State:
    """The stream's state once ``event`` is folded in; call :func:`decide` first.

    ``history`` is as for :func:`decide`. Raises ValueError for a correction that
    :func:`decide` would have refused.
    """
    if state is None:
        return _open(event, envelope)
    if isinstance(event, Correction):
        refolded = _refold(state, event, envelope, _required(history))
        if isinstance(refolded, RuleBreak):
            raise ValueError(f"{refolded.rule}: {refolded.detail}")
        return refolded
    if isinstance(state, NoteState):
        return _evolve_note(state, event, envelope)
    if isinstance(state, ProtestState):
        return _evolve_protest(state, event, envelope)
    if isinstance(state, IncidentState):
        return _evolve_incident(state, event, envelope)
    if isinstance(state, MissionState):
        return _evolve_mission(state, event, envelope)
    return replace(state, **_recorded(state, event, envelope))


def _required(history: Sequence[LoggedEvent] | None) -> Sequence[LoggedEvent]:
    if history is None:
        raise HistoryRequiredError("a correction is folded with the stream's earlier events")
    return history


def _recorded(state: State, event: EventData, envelope: Envelope) -> dict[str, Any]:
    """The fields every fold updates: the latest time and the sources cited."""
    changes: dict[str, Any] = {}
    if envelope.occurred_at > state.last_event_at:
        changes["last_event_at"] = envelope.occurred_at
    if event.sources:
        new_sources = [source for source in event.sources if source not in state.sources]
        if new_sources:
            changes["sources"] = [*state.sources, *new_sources]
    return changes


@cache
def _shared_fields(event_type: type[EventData], kept_in: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of an event type (besides those every event has) that ``kept_in`` has too."""
    common = set(EventData.__struct_fields__)
    kept = set(kept_in.__struct_fields__)
    return tuple(f for f in event_type.__struct_fields__ if f in kept and f not in common)


def _taken(event: EventData, kept_in: type[msgspec.Struct]) -> dict[str, Any]:
    """What a state or a part of one takes of its event: each field of the same name as it
    is (a list copied, so that the state owns its own)."""
    taken: dict[str, Any] = {}
    for name in _shared_fields(type(event), kept_in):
        value = getattr(event, name)
        taken[name] = list(value) if isinstance(value, list) else value
    return taken


def _dated(event: EventData) -> dict[str, Any]:
    """How a part of a state is dated: its event's precision and bounds."""
    return {
        "precision": event.occurred_precision,
        "after": as_bound(event.occurred_after),
        "before": as_bound(event.occurred_before),
    }


def _opened(event: EventData, envelope: Envelope) -> dict[str, Any]:
    """The fields every opening sets."""
    sources: list[Any] = []
    for source in event.sources:
        if source not in sources:
            sources.append(source)
    return {
        "stream_id": envelope.stream_id,
        "occurred_precision": event.occurred_precision,
        "occurred_zone": event.occurred_zone,
        "occurred_after": as_bound(event.occurred_after),
        "occurred_before": as_bound(event.occurred_before),
        "last_event_at": envelope.occurred_at,
        "sources": sources,
    }


class _Opening(NamedTuple):
    """What an opening event makes: the state (which takes the event's fields of the same
    name), its status or kind, and the field keeping the event's ``occurred_at``."""

    state: type[State]
    fixed: Mapping[str, str]
    dated: str


_OPENINGS: dict[type[EventData], _Opening] = {
    NoteSent: _Opening(NoteState, {"status": "sent"}, "sent_at"),
    ProtestLodged: _Opening(ProtestState, {"status": "open"}, "lodged_at"),
    IncidentReported: _Opening(IncidentState, {"status": "reported"}, "occurred_at"),
    MissionRegistered: _Opening(MissionState, {}, "registered_at"),
    StatementIssued: _Opening(StatementState, {"kind": "statement"}, "issued_at"),
    ResolutionAdopted: _Opening(StatementState, {"kind": "resolution"}, "issued_at"),
}


def _open(event: DomainEvent, envelope: Envelope) -> State:
    opening = _OPENINGS.get(type(event))
    if opening is None:
        raise ValueError(f"{type_name(event)} opens no stream")
    fields: dict[str, Any] = {**opening.fixed, **_taken(event, opening.state)}
    if isinstance(event, ProtestLodged):
        fields["demands"] = [
            DemandState(demand=demand, detail=event.demand_details.get(demand))
            for demand in event.demands
        ]
    fields[opening.dated] = envelope.occurred_at
    return opening.state(**_opened(event, envelope), **fields)


def _evolve_note(state: NoteState, event: DomainEvent, envelope: Envelope) -> NoteState:
    at = envelope.occurred_at
    common = _recorded(state, event, envelope)
    if isinstance(event, NoteAcknowledged):
        return replace(state, **common, status="acknowledged", acknowledged_at=at)
    if isinstance(event, ReplyReceived):
        reply = Reply(**_taken(event, Reply))
        return replace(state, **common, status="answered", answered_at=at, reply=reply)
    if isinstance(event, NoteWithdrawn):
        return replace(
            state, **common, status="withdrawn", withdrawn_at=at, withdrawn_reason=event.reason
        )
    return replace(state, **common)


def _evolve_protest(state: ProtestState, event: DomainEvent, envelope: Envelope) -> ProtestState:
    at = envelope.occurred_at
    common = _recorded(state, event, envelope)
    if isinstance(event, DemandAnswered):
        demands = [
            replace(
                demand,
                status=event.outcome,
                outcome=event.outcome,
                answered_at=at,
                summary=event.summary,
            )
            if demand.demand == event.demand
            else demand
            for demand in state.demands
        ]
        return replace(state, **common, demands=demands)
    if isinstance(event, ProtestResponseReceived):
        response = ProtestResponse(
            **_taken(event, ProtestResponse), received_at=at, **_dated(event)
        )
        return replace(state, **common, responses=[*state.responses, response])
    if isinstance(event, ProtestClosed):
        return replace(state, **common, status="closed", closed_at=at, closed_reason=event.reason)
    return replace(state, **common)


def _evolve_incident(state: IncidentState, event: DomainEvent, envelope: Envelope) -> IncidentState:
    at = envelope.occurred_at
    common = _recorded(state, event, envelope)
    if isinstance(event, PoliceResponded):
        first = min(event.arrived_at, state.police_arrived_at or event.arrived_at)
        response = PoliceResponse(**_taken(event, PoliceResponse))
        return replace(
            state,
            **common,
            police_responses=[*state.police_responses, response],
            police_arrived_at=first,
            response_minutes=_response_minutes(state, first),
        )
    if isinstance(event, DamageRecorded):
        damage = DamageEntry(**_taken(event, DamageEntry), recorded_at=at, **_dated(event))
        return replace(state, **common, damage=[*state.damage, damage])
    if isinstance(event, CasualtiesReported):
        report = CasualtyReport(**_taken(event, CasualtyReport), reported_at=at, **_dated(event))
        reports = [*state.casualty_reports, report]
        return replace(state, **common, casualty_reports=reports, casualties=_casualties(reports))
    if isinstance(event, InvestigationOpened | ProsecutionStarted | CompensationPaid):
        measure = Measure(**_taken(event, Measure), at=at, **_dated(event))
        kept = _MEASURES[type(event)]
        return replace(state, **common, **{kept: [*getattr(state, kept), measure]})
    if isinstance(event, IncidentClosed):
        return replace(state, **common, status="closed", closed_at=at, closed_reason=event.reason)
    return replace(state, **common)


def _response_minutes(state: IncidentState, arrived_at: datetime) -> float | None:
    # A response time from a day-, month- or year-precise start would be meaningless.
    if state.occurred_precision not in (None, "minute"):
        return None
    return (arrived_at - state.occurred_at).total_seconds() / 60


def _casualties(reports: Sequence[CasualtyReport]) -> Casualties:
    latest: dict[str | None, CasualtyReport] = {}
    for report in reports:
        latest[report.among] = report  # a later report on the same group supersedes
    killed = [r.killed for r in latest.values() if r.killed is not None]
    injured = [r.injured for r in latest.values() if r.injured is not None]
    return Casualties(
        killed=sum(killed) if killed else None, injured=sum(injured) if injured else None
    )


def _evolve_mission(state: MissionState, event: DomainEvent, envelope: Envelope) -> MissionState:
    at = envelope.occurred_at
    common = _recorded(state, event, envelope)
    head = state.head_of_mission
    if isinstance(event, HeadOfMissionAppointed):
        appointed = HeadOfMission(
            **_taken(event, HeadOfMission), status="appointed", since=at, **_dated(event)
        )
        return replace(state, **common, head_of_mission=appointed)
    if isinstance(event, HeadOfMissionRecalled | HeadOfMissionReturned):
        status: HeadStatus = "recalled" if isinstance(event, HeadOfMissionRecalled) else "returned"
        changed = HeadOfMission(
            name=event.name or (head.name if head else None),
            title=head.title if head else None,
            status=status,
            since=at,
            **_dated(event),
            reason=event.reason,
        )
        return replace(state, **common, head_of_mission=changed)
    if isinstance(event, CorrespondenceSummarized):
        entry = CorrespondenceEntry(
            **_taken(event, CorrespondenceEntry), recorded_at=at, **_dated(event)
        )
        return replace(state, **common, correspondence=[*state.correspondence, entry])
    return replace(state, **common)


# --- corrections --------------------------------------------------------------------------


class _Logged(NamedTuple):
    """One event as logged (its data uncorrected), as the refold reads it."""

    event_id: UUID
    type: str
    occurred_at: datetime
    data: msgspec.Raw


def _refold(
    state: State, correction: Correction, envelope: Envelope, history: Sequence[LoggedEvent]
) -> State | RuleBreak:
    """Fold the stream again from its first event with every correction applied to its target.

    ``history`` is the stream's events before this correction, as logged; only the folded
    fields change.
    """
    target = next((e for e in history if e.event_id == correction.corrects), None)
    if target is None:
        return RuleBreak(
            "correction-target-unknown", f"no event {correction.corrects} in this stream"
        )
    if target.type in _CORRECTION_NAMES:
        return RuleBreak("correction-of-correction", "correct the original event instead")
    if "type" in correction.changes:
        return RuleBreak("correction-invalid", "a correction cannot change an event's type")
    entries = [
        _Logged(e.event_id, e.type, _utc(e.occurred_at), msgspec.Raw(e.data)) for e in history
    ]
    entries.append(
        _Logged(envelope.event_id, type_name(correction), envelope.occurred_at, envelope.data)
    )
    corrections: dict[UUID, Correction] = {envelope.event_id: correction}
    patches: dict[UUID, list[Mapping[str, Any]]] = {}
    for entry in entries:
        if entry.type in _CORRECTION_NAMES:
            earlier = corrections.get(entry.event_id) or decode_data(entry.type, entry.data)
            assert isinstance(earlier, Correction)
            corrections[entry.event_id] = earlier
            patches.setdefault(earlier.corrects, []).append(earlier.changes)
    rebuilt: State | None = None
    for entry in entries:
        if entry.type in _CORRECTION_NAMES:
            assert rebuilt is not None  # the first entry is always the opening event
            logged = Envelope(state.stream_id, entry.event_id, entry.occurred_at, entry.data)
            rebuilt = _record_correction(rebuilt, corrections[entry.event_id], logged)
            continue
        patched = _patched(state.stream_id, entry, patches.get(entry.event_id, ()))
        if isinstance(patched, RuleBreak):
            return patched
        event, replayed = patched
        broken = decide(rebuilt, event, replayed)
        if broken is not None:
            return RuleBreak(
                broken.rule, f"once corrected, event {entry.event_id}: {broken.detail}"
            )
        rebuilt = evolve(rebuilt, event, replayed)
    assert rebuilt is not None
    return rebuilt


def _record_correction(state: State, correction: Correction, envelope: Envelope) -> State:
    entry = CorrectionEntry(
        event_id=envelope.event_id,
        corrects=correction.corrects,
        fields=sorted(correction.changes),
        reason=correction.reason,
        occurred_at=envelope.occurred_at,
    )
    return replace(
        state,
        **_recorded(state, correction, envelope),
        corrections=[*state.corrections, entry],
    )


def _patched(
    stream_id: str, entry: _Logged, patches: Sequence[Mapping[str, Any]]
) -> tuple[DomainEvent, Envelope] | RuleBreak:
    """The logged event with the corrections' changes applied, validated as its type."""
    data: bytes | msgspec.Raw = entry.data
    occurred_at = entry.occurred_at
    if patches:
        body = _decode_json.decode(entry.data)
        for changes in patches:
            for field, value in changes.items():
                if field != "occurred_at":
                    body[field] = value
                    continue
                try:
                    corrected = _decode_time.decode(_encode_json.encode(value))
                    occurred_at = check_in_range(corrected, "occurred_at").astimezone(UTC)
                except (msgspec.ValidationError, ValueError) as error:
                    return RuleBreak("correction-invalid", f"occurred_at: {error}")
        data = _encode_json.encode(body)
    try:
        event = decode_data(entry.type, data)
    except msgspec.ValidationError as error:
        return RuleBreak("correction-invalid", f"the corrected {entry.type} is invalid: {error}")
    return event, Envelope(stream_id, entry.event_id, occurred_at, entry.data)


# --- the store's hook ---------------------------------------------------------------------


class DomainRules:
    """The domain's :class:`~incidents.store.protocol.StreamRules`: check, then fold.

    Pure and deterministic: the same events always give the same snapshot bytes.
    """

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
        history: Sequence[RecordedEvent] | None = None,
    ) -> StreamSnapshot:
        """Fold ``events`` onto the stream, or raise RuleViolation naming the first to break
        a rule (its index in ``events``, the rule id, a detail).

        ``history`` is the stream's events before ``events``, oldest first; it is needed
        (HistoryRequiredError otherwise) when a type in ``events`` is one that
        :meth:`needs_history` names.
        """
        category = _category(stream_id)
        state = None if current is None else decode_state(category, current.state)
        logged: list[LoggedEvent] | None = None if history is None else list(history)
        for index, recorded in enumerate(events):
            event = _decoded(index, recorded)
            envelope = Envelope(
                stream_id, recorded.event_id, _utc(recorded.occurred_at), recorded.data
            )
            broken = decide(state, event, envelope, logged)
            if broken is not None:
                raise RuleViolation(index, broken.rule, broken.detail)
            state = evolve(state, event, envelope, logged)
            if logged is not None:
                logged.append(recorded)
        if state is None:
            if current is None:
                raise ValueError("a stream with no events has no snapshot")
            return current
        return _snapshot(state)

    def needs_history(self, event_type: str) -> bool:
        """Whether folding an event of this type reads the stream's earlier events (a
        correction folds the stream again from its first event)."""
        return event_type in _CORRECTION_NAMES

    def fold_logged(self, stream_id: str, events: Sequence[LoggedEvent]) -> StreamSnapshot:
        """:meth:`fold` over events that carry only what the fold reads (replay's light rows)."""
        return self.fold(stream_id, events)

    def fold(self, stream_id: str, events: Sequence[LoggedEvent]) -> StreamSnapshot:
        """The snapshot of a stream from its whole log, first event to last (replay).

        The same snapshot :meth:`apply` gives from no snapshot for events it accepts, without
        deciding each event again: the log holds only events the rules accepted when they
        were appended (and ``incidents verify`` shows it was not altered since). An event
        whose type or data does not decode raises RuleViolation, as in :meth:`apply`.
        """
        _category(stream_id)
        state: State | None = None
        # A correction refolds from the events before it: those are events[:index].
        for index, recorded in enumerate(events):
            event = _decoded(index, recorded)
            at = recorded.occurred_at
            if at.tzinfo is not UTC:  # _utc inlined: it runs once per event of the log
                at = _utc(at)
            envelope = Envelope(stream_id, recorded.event_id, at, recorded.data)
            if state is None:
                state = _open(event, envelope)
            elif isinstance(event, Correction):
                state = evolve(state, event, envelope, events[:index])
            else:
                state = evolve(state, event, envelope)
        if state is None:
            raise ValueError("a stream with no events has no snapshot")
        return _snapshot(state)


def _category(stream_id: str) -> str:
    category = category_of(stream_id)
    if category not in TYPES_BY_CATEGORY:
        raise RuleViolation(0, "unknown-category", f"{category!r} is not a stream category")
    return category


def _decoded(index: int, recorded: LoggedEvent) -> DomainEvent:
    """The ``index``-th event's body; RuleViolation when its type or data does not decode."""
    try:
        return decode_data(recorded.type, recorded.data)
    except UnknownEventType as error:
        raise RuleViolation(index, "unknown-event-type", str(error)) from error
    except msgspec.ValidationError as error:
        raise RuleViolation(index, "data-invalid", f"{recorded.type}: {error}") from error


def _snapshot(state: State) -> StreamSnapshot:
    return StreamSnapshot(
        state=encode_state(state),
        mission=mission_of(state),
        is_open=is_open(state),
    )


def _utc(moment: datetime) -> datetime:
    # States write every time in UTC, whatever offset the store hands over.
    return moment if moment.utcoffset() is None or moment.tzinfo is UTC else moment.astimezone(UTC)


# --- views in time ------------------------------------------------------------------------


class TimedEvent(LoggedEvent, Protocol):
    """A logged event with the time the log recorded it (a ``RecordedEvent`` is one)."""

    @property
    def recorded_at(self) -> datetime: ...


def fold_in_time(
    stream_id: str,
    events: Sequence[TimedEvent],
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    rule: DateRule = "possible",
) -> State | None:
    """The stream's state as of ``as_of`` as the log knew it at ``known_at`` (None: no bound).

    ``events`` are the stream's events in the order they were appended. Kept are those
    recorded at or before ``known_at``. A correction among them patches its target whatever
    ``as_of`` says (it mends the record of the fact, not the fact's time); the events are
    then kept when their span (:func:`incidents.domain.times.span` of their occurred time,
    precision and bounds, corrected) counts as occurred by ``as_of`` under ``rule``
    (:func:`incidents.domain.times.kept_as_of`; a point: when it is at or before ``as_of``),
    and a correction is listed in the state when its own occurred time is by then. The kept
    events are folded in append order with :func:`evolve` alone: the rules decided on each
    event once, against the whole stream, when it was appended, and are not asked again
    about a part of it. An event with nothing to be folded onto (its stream's opening event
    left out) is left out too. None when nothing is kept. With no bounds this is the stored state.
    """
    category = category_of(stream_id)
    openings = OPENING_TYPES.get(category, frozenset())
    known = [e for e in events if known_at is None or e.recorded_at <= known_at]
    corrections: dict[UUID, Correction] = {}
    patches: dict[UUID, list[Mapping[str, Any]]] = {}
    for logged in known:
        if logged.type in _CORRECTION_NAMES:
            correction = decode_data(logged.type, logged.data)
            assert isinstance(correction, Correction)
            corrections[logged.event_id] = correction
            patches.setdefault(correction.corrects, []).append(correction.changes)
    state: State | None = None
    for logged in known:
        at = _utc(logged.occurred_at)
        data = msgspec.Raw(logged.data)
        if logged.type in _CORRECTION_NAMES:
            if state is not None and (as_of is None or at <= as_of):
                envelope = Envelope(stream_id, logged.event_id, at, data)
                state = _record_correction(state, corrections[logged.event_id], envelope)
            continue
        entry = _Logged(logged.event_id, logged.type, at, data)
        patched = _patched(stream_id, entry, patches.get(logged.event_id, ()))
        if isinstance(patched, RuleBreak):  # a correction the rules took, so not expected
            patched = _patched(stream_id, entry, ())
            if isinstance(patched, RuleBreak):
                continue
        event, envelope = patched
        if as_of is not None and not kept_as_of(
            span(
                envelope.occurred_at,
                event.occurred_precision,
                event.occurred_after,
                event.occurred_before,
            ),
            as_of,
            rule,
        ):
            continue
        if state is None:
            if logged.type in openings:
                state = _open(event, envelope)
        elif logged.type not in openings:
            try:
                state = evolve(state, event, envelope)
            except (ValueError, KeyError, LookupError):
                continue  # it needs what the view left out
    return state
