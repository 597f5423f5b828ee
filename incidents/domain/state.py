"""What each stream folds to: one frozen, JSON-encodable Struct per category.

The store keeps one of these documents per stream, updated in the append's transaction;
projections read them instead of replaying the log. Every state keeps the corrections made,
the union of the sources cited, and ``last_event_at``: the latest ``occurred_at`` of its
events. The events themselves stay in the log only: a state's size follows what the stream
says, not how many events said it, so an append rewrites a small document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from incidents.domain.events import (
    Count,
    Demand,
    Disposition,
    IncidentKind,
    Location,
    MissionKind,
    Money,
    NoteForm,
    Outcome,
    Party,
    ProtestForm,
    ReportedReply,
    Source,
    Stance,
)
from incidents.domain.times import Precision

NoteStatus = Literal["sent", "acknowledged", "answered", "withdrawn"]
ProtestStatus = Literal["open", "closed"]
DemandStatus = Literal["open", "met", "partially_met", "rejected"]
IncidentStatus = Literal["reported", "closed"]
HeadStatus = Literal["appointed", "recalled", "returned"]

# A bound of a fact's date (``occurred_after``/``occurred_before``); UNSET, not null, where
# the event gives none, so that it is left out of the document and a state without bounds
# encodes as it did before bounds existed.
Bound = datetime | UnsetType


def bound(value: Bound | None) -> datetime | None:
    """A bound as a time, or None where the event gave none (a view's slice of a state
    reads an absent bound as None)."""
    return None if isinstance(value, UnsetType) else value


def as_bound(value: datetime | None) -> Bound:
    """An event's bound as a state keeps it."""
    return UNSET if value is None else value


# gc=False: states are acyclic data decoded from JSON, and leaving them out of the cycle
# collector makes decoding a long stream's state about a third faster.
class Part(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of the parts of a state; ``precision`` beside a time is its event's precision,
    ``after`` and ``before`` its bounds (``occurred_after``/``occurred_before``)."""


class CorrectionEntry(Part, frozen=True, kw_only=True):
    """A correction made to one of the stream's events."""

    event_id: UUID
    corrects: UUID
    fields: list[str]
    reason: str
    occurred_at: datetime


class _Identified(msgspec.Struct, frozen=True, gc=False):  # acyclic, as Part
    stream_id: str


class StreamState(_Identified, frozen=True, kw_only=True):
    """What every stream's state keeps besides its category's facts.

    These fields come last in the JSON document: the stream id, then the category's facts
    (each state lists its required fields first), then this bookkeeping.
    """

    occurred_precision: Precision | None = None
    occurred_zone: str | None = None
    occurred_after: Bound = UNSET
    occurred_before: Bound = UNSET
    last_event_at: datetime
    sources: list[Source] = []
    corrections: list[CorrectionEntry] = []


# --- mission ------------------------------------------------------------------------------


class HeadOfMission(Part, frozen=True, kw_only=True):
    """Who heads the mission and where they stand; ``since`` is the latest change."""

    name: str | None = None
    title: str | None = None
    status: HeadStatus
    since: datetime
    precision: Precision | None = None
    after: Bound = UNSET
    before: Bound = UNSET
    reason: str | None = None


class CorrespondenceEntry(Part, frozen=True, kw_only=True):
    """Notes and letters known only in bulk (``CorrespondenceSummarized``)."""

    from_: Party = msgspec.field(name="from")
    to: list[Party]
    subject: str
    count: Count | None = None
    since: str | None = None
    until: str | None = None
    replies: list[ReportedReply] = []
    recorded_at: datetime
    precision: Precision | None = None
    after: Bound = UNSET
    before: Bound = UNSET


class MissionState(StreamState, frozen=True):
    """A mission, its head and the correspondence it reports in bulk."""

    sending_state: str
    receiving_state: str
    city: str
    kind: MissionKind
    name: str
    registered_at: datetime
    address: str | None = None
    reply_window_days: int | None = None
    head_of_mission: HeadOfMission | None = None
    correspondence: list[CorrespondenceEntry] = []


# --- incident -----------------------------------------------------------------------------


class PoliceResponse(Part, frozen=True, kw_only=True):
    """One arrival of the police."""

    arrived_at: datetime
    by: Party | None = None
    summary: str | None = None


class DamageEntry(Part, frozen=True, kw_only=True):
    """Damage as recorded."""

    description: str
    documented_by: Party | None = None
    recorded_at: datetime
    precision: Precision | None = None
    after: Bound = UNSET
    before: Bound = UNSET


class CasualtyReport(Part, frozen=True, kw_only=True):
    """Dead and injured as one report gives them."""

    killed: int | None = None
    injured: int | None = None
    among: str | None = None
    reported_by: Party | None = None
    reported_at: datetime
    precision: Precision | None = None
    after: Bound = UNSET
    before: Bound = UNSET


class Casualties(Part, frozen=True, kw_only=True):
    """Totals over the latest report of each group; null where no report gives a number."""

    killed: int | None = None
    injured: int | None = None


class Measure(Part, frozen=True, kw_only=True):
    """An investigation opened, a prosecution started or a compensation paid."""

    by: Party
    at: datetime
    precision: Precision | None = None
    after: Bound = UNSET
    before: Bound = UNSET
    to: Party | None = None
    amount: Money | None = None
    summary: str | None = None


class IncidentState(StreamState, frozen=True):
    """An incident and what followed it.

    ``response_minutes`` is the first police arrival minus ``occurred_at``, given only when
    the report dates the incident to the minute.
    """

    status: IncidentStatus
    kind: IncidentKind
    title: str
    occurred_at: datetime
    summary: str | None = None
    mission: str | None = None
    location: Location | None = None
    ended_at: datetime | None = None
    participants_estimate: Count | None = None
    perpetrators: str | None = None
    reported_by: Party | None = None
    attempted: bool = False
    repeated: bool = False
    police_arrived_at: datetime | None = None
    response_minutes: float | None = None
    police_responses: list[PoliceResponse] = []
    damage: list[DamageEntry] = []
    casualties: Casualties = Casualties()
    casualty_reports: list[CasualtyReport] = []
    investigations: list[Measure] = []
    prosecutions: list[Measure] = []
    compensations: list[Measure] = []
    closed_at: datetime | None = None
    closed_reason: str | None = None


# --- note ---------------------------------------------------------------------------------


class Reply(Part, frozen=True, kw_only=True):
    """The answer a note received."""

    from_: Party = msgspec.field(name="from")
    disposition: Disposition
    summary: str | None = None
    reference: str | None = None
    reply_note: str | None = None


class NoteState(StreamState, frozen=True):
    """A note and where it stands: sent, acknowledged, answered or withdrawn."""

    status: NoteStatus
    from_: Party = msgspec.field(name="from")
    to: Party
    subject: str
    sent_at: datetime
    summary: str | None = None
    mission: str | None = None
    reference: str | None = None
    form: NoteForm | None = None
    about_incident: str | None = None
    in_reply_to: str | None = None
    reply_due_at: datetime | None = None
    channel: str | None = None
    recipients: list[Party] = []
    acknowledged_at: datetime | None = None
    answered_at: datetime | None = None
    reply: Reply | None = None
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None


# --- protest ------------------------------------------------------------------------------


class DemandState(Part, frozen=True, kw_only=True):
    """One demand of a protest; open until answered ``met`` or ``rejected``."""

    demand: Demand
    status: DemandStatus = "open"
    detail: str | None = None
    answered_at: datetime | None = None
    outcome: Outcome | None = None
    summary: str | None = None


class ProtestResponse(Part, frozen=True, kw_only=True):
    """A response to the protest as a whole."""

    from_: Party = msgspec.field(name="from")
    summary: str
    received_at: datetime
    precision: Precision | None = None
    after: Bound = UNSET
    before: Bound = UNSET


class ProtestState(StreamState, frozen=True):
    """A protest, its demands and the responses it got."""

    status: ProtestStatus
    by: Party
    to: Party
    form: ProtestForm
    lodged_at: datetime
    summary: str | None = None
    mission: str | None = None
    via_mission: str | None = None
    about_incident: str | None = None
    demands: list[DemandState] = []
    responses: list[ProtestResponse] = []
    closed_at: datetime | None = None
    closed_reason: str | None = None


# --- statement ----------------------------------------------------------------------------


class StatementState(StreamState, frozen=True):
    """A statement (``by``, ``stance``) or a parliament's resolution (``body``, ``title``)."""

    kind: Literal["statement", "resolution"]
    issued_at: datetime
    by: Party | None = None
    body: Party | None = None
    stance: Stance | None = None
    summary: str | None = None
    title: str | None = None
    about: str | None = None
    related: list[str] = []
    mission: str | None = None
    adopted_on: str | None = None
    calls_for: list[str] = []


State = MissionState | IncidentState | NoteState | ProtestState | StatementState

STATE_TYPES: dict[str, type[State]] = {
    "mission": MissionState,
    "incident": IncidentState,
    "note": NoteState,
    "protest": ProtestState,
    "statement": StatementState,
}
"""Stream category → the Struct its streams fold to."""

# One decoder per category and one encoder, made once.
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    category: msgspec.json.Decoder(cls) for category, cls in STATE_TYPES.items()
}
_ENCODER = msgspec.json.Encoder(order="deterministic")


def decode_state(category: str, data: bytes | msgspec.Raw) -> State:
    """Decode a stream's state document; raises KeyError for an unknown category."""
    state: State = _DECODERS[category].decode(data)
    return state


def encode_state(state: State) -> bytes:
    """A state's JSON document: deterministic, so equal states give equal bytes."""
    return _ENCODER.encode(state)


def is_open(state: State) -> bool:
    """The store's ``is_open`` column: a note unanswered, a protest or an incident not closed,
    a mission always, a statement never."""
    if isinstance(state, NoteState):
        return state.status in ("sent", "acknowledged")
    if isinstance(state, ProtestState):
        return state.status == "open"
    if isinstance(state, IncidentState):
        return state.status == "reported"
    return isinstance(state, MissionState)


def mission_of(state: State) -> str | None:
    """The store's ``mission`` column: a mission's own id, else the mission the stream names."""
    if isinstance(state, MissionState):
        return state.stream_id
    return state.mission
