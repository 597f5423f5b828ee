"""Every event the log records: the ``data`` body of each type, as a frozen, tagged Struct.

The envelope (position, version, event id, ``occurred_at``) lives outside these Structs; the
HTTP layer carries the type name beside ``data``, so :func:`encode_data` writes a body without
the ``type`` tag and :func:`decode_data` reads one by the type's name. Bodies are validated on
decode: unknown fields, ISO 3166 codes that do not exist, times without an offset and unknown
time zones are refused (``msgspec.ValidationError``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
import pycountry
from msgspec import Meta

from incidents.core.streams import STREAM_ID_MAX_LENGTH, STREAM_ID_PATTERN
from incidents.domain.times import Precision, check_in_range, is_zone

# ISO 3166-1 alpha-2 codes of the states that exist; read once from pycountry.
_STATE_CODES = tuple(sorted(country.alpha_2 for country in pycountry.countries))
if TYPE_CHECKING:
    StateCode = str
else:
    # A Literal of the codes: msgspec checks it in C, where a pattern or a hook would cost a
    # Python call for every party of every state the store decodes.
    StateCode = Annotated[
        Literal[_STATE_CODES], Meta(description="ISO 3166-1 alpha-2 code", examples=["FR"])
    ]
# ISO 4217 codes, for amounts of compensation.
_CURRENCY_CODES = frozenset(currency.alpha_3 for currency in pycountry.currencies)

Time = Annotated[datetime, Meta(tz=True, description="RFC 3339 with an offset")]
Text = Annotated[str, Meta(min_length=1, max_length=4000)]
Label = Annotated[str, Meta(min_length=1, max_length=300)]
ZoneName = Annotated[str, Meta(min_length=1, max_length=64, examples=["Europe/Paris"])]
StreamRef = Annotated[str, Meta(pattern=STREAM_ID_PATTERN, max_length=STREAM_ID_MAX_LENGTH)]
MissionRef = Annotated[
    str,
    Meta(pattern=r"^mission-[a-z0-9][a-z0-9-]*$(?!\n)", max_length=128, examples=["mission-az-fr"]),
]
IncidentRef = Annotated[str, Meta(pattern=r"^incident-[a-z0-9][a-z0-9-]*$(?!\n)", max_length=128)]
PartialDate = Annotated[
    str,
    Meta(
        pattern=r"^[12]\d{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$(?!\n)",
        description="a year (1000 to 2999), year-month or date: 2017, 2022-08, 2022-11-30",
    ),
]
Amount = Annotated[str, Meta(pattern=r"^\d{1,15}(\.\d{1,4})?$(?!\n)", examples=["1250.00"])]
Headcount = Annotated[int, Meta(ge=0)]

Qualifier = Literal["exact", "about", "up_to", "at_least"]
MissionKind = Literal["embassy", "consulate", "permanent_mission"]
IncidentKind = Literal[
    "attack", "intrusion", "vandalism", "threat", "demonstration", "armed_clash", "other"
]
NoteForm = Literal["note_verbale", "first_person_note", "aide_memoire", "non_paper", "letter"]
Disposition = Literal["accepted", "partially_accepted", "rejected", "noncommittal"]
ProtestForm = Literal["note", "summons", "statement"]
Demand = Literal[
    "investigation",
    "legal_assessment",
    "prosecution",
    "compensation",
    "apology",
    "security_measures",
    "retraction",
]
Outcome = Literal["met", "partially_met", "rejected"]
Stance = Literal["condemns", "rejects", "supports", "calls_for", "notes"]


class Value(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """Base of the value types events carry: immutable, strict, compact.

    ``gc=False``: values are acyclic, so the cycle collector need not track them (every
    state the store decodes holds many).
    """


class Party(Value, frozen=True):
    """Who acts: a state (ISO 3166-1 alpha-2), a body, a person with a title.

    A party without a state (an international body) must name its body.
    """

    state: StateCode | None = None
    body: Label | None = None
    person: Label | None = None
    title: Label | None = None

    def __post_init__(self) -> None:
        if self.state is None and self.body is None:
            raise ValueError("a party needs a state, or a body when it has none")


class Source(Value, frozen=True):
    """Where a fact comes from: a document and a verbatim quote from it."""

    document: Label
    quote: Text


class Count(Value, frozen=True):
    """A number as the text gives it: "up to 150" is ``{"value": 150, "qualifier": "up_to"}``."""

    value: Headcount
    qualifier: Qualifier = "exact"


class Location(Value, frozen=True):
    """Where something happened, when it is not (only) a mission's premises."""

    state: StateCode | None = None
    city: Label | None = None
    address: Label | None = None
    description: Text | None = None


class Money(Value, frozen=True):
    """An amount in an ISO 4217 currency, as a decimal string (no float rounding)."""

    amount: Amount
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$(?!\n)")]

    def __post_init__(self) -> None:
        if self.currency not in _CURRENCY_CODES:
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")


class ReportedReply(Value, frozen=True):
    """An answer a text reports only in summary, to correspondence it reports only in bulk."""

    summary: Text
    from_: Party | None = msgspec.field(name="from", default=None)
    disposition: Disposition | None = None


class EventData(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    tag_field="type",
    tag=True,
    gc=False,  # acyclic, as Value
):
    """Base of every event body: provenance and how precisely the text dates the fact.

    ``occurred_after`` and ``occurred_before`` fence in a fact the text does not date
    (both inclusive, either may be missing); the envelope's ``occurred_at`` must lie between
    them (rule ``occurred-outside-bounds``).
    """

    sources: list[Source] = []
    occurred_precision: Precision | None = None
    occurred_zone: ZoneName | None = None
    occurred_after: Time | None = None
    occurred_before: Time | None = None

    # Fields holding instants, written back in UTC so equal instants encode equally.
    _times: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.occurred_zone is not None and not is_zone(self.occurred_zone):
            raise ValueError(f"{self.occurred_zone!r} is not an IANA time zone")
        after, before = self.occurred_after, self.occurred_before
        if after is not None and before is not None and before < after:
            raise ValueError("occurred_before must not come before occurred_after")
        for name in ("occurred_after", "occurred_before", *self._times):
            value = getattr(self, name)
            if value is None:
                continue
            check_in_range(value, name)
            if value.utcoffset():
                msgspec.structs.force_setattr(self, name, value.astimezone(UTC))


class Correction(EventData, frozen=True):
    """Base of the ``<Category>Corrected`` types: new values for fields of an earlier event.

    ``changes`` maps field names of the corrected event's data (or ``occurred_at``, its
    envelope time) to their new values; the stream is folded again as if the corrected event
    had carried them, and every rule must still hold.
    """

    corrects: UUID
    changes: Annotated[dict[str, Any], Meta(min_length=1)]
    reason: Text


# --- mission ------------------------------------------------------------------------------


class MissionRegistered(EventData, frozen=True):
    """A mission enters the log: the opening event of a ``mission-`` stream."""

    sending_state: StateCode
    receiving_state: StateCode
    city: Label
    kind: MissionKind
    name: Label
    address: Label | None = None
    reply_window_days: Annotated[int, Meta(ge=1, le=3650)] | None = None


class HeadOfMissionAppointed(EventData, frozen=True):
    """A head of mission takes office (a successor replaces whoever held it)."""

    name: Label | None = None
    title: Label | None = None
    reason: Text | None = None


class HeadOfMissionRecalled(EventData, frozen=True):
    """The head of mission is recalled by the sending state."""

    name: Label | None = None
    reason: Text | None = None
    by: Party | None = None


class HeadOfMissionReturned(EventData, frozen=True):
    """A recalled head of mission goes back to the post."""

    name: Label | None = None
    reason: Text | None = None


class CorrespondenceSummarized(EventData, frozen=True):
    """Notes and letters a text reports only in bulk ("about 50 notes since 2017").

    It records what the text says without inventing the individual notes, their dates or
    their replies, so it opens no note stream and counts in no note projection.
    """

    from_: Party = msgspec.field(name="from")
    to: Annotated[list[Party], Meta(min_length=1)]
    subject: Text
    count: Count | None = None
    since: PartialDate | None = None
    until: PartialDate | None = None
    replies: list[ReportedReply] = []


class MissionCorrected(Correction, frozen=True):
    """Corrects an earlier event of a mission stream."""


# --- incident -----------------------------------------------------------------------------


class IncidentReported(EventData, frozen=True):
    """An incident: the opening event of an ``incident-`` stream.

    It concerns a mission, or happened away from one (a monument, a border position) and
    then names the state where it happened in ``location``.
    """

    kind: IncidentKind
    title: Label
    mission: MissionRef | None = None
    location: Location | None = None
    summary: Text | None = None
    participants_estimate: Count | None = None
    perpetrators: Text | None = None
    reported_by: Party | None = None
    ended_at: Time | None = None
    attempted: bool = False
    repeated: bool = False

    _times = ("ended_at",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mission is None and (self.location is None or self.location.state is None):
            raise ValueError("an incident needs a mission, or a location with its state")


class PoliceResponded(EventData, frozen=True):
    """Police reached the scene; the response time runs from the incident's occurred_at."""

    arrived_at: Time
    by: Party | None = None
    summary: Text | None = None

    _times = ("arrived_at",)


class DamageRecorded(EventData, frozen=True):
    """Damage done, as described, and who documented it."""

    description: Text
    documented_by: Party | None = None


class CasualtiesReported(EventData, frozen=True):
    """Dead and injured as a report gives them; null where the report gives no number.

    Reports naming the same group (``among``) supersede each other; different groups add up.
    """

    killed: Headcount | None
    injured: Headcount | None
    among: Label | None = None
    reported_by: Party | None = None


class InvestigationOpened(EventData, frozen=True):
    """An authority opened an investigation into the incident."""

    by: Party
    summary: Text | None = None


class ProsecutionStarted(EventData, frozen=True):
    """An authority started prosecuting those responsible."""

    by: Party
    summary: Text | None = None


class CompensationPaid(EventData, frozen=True):
    """Compensation was paid for the incident."""

    by: Party
    to: Party | None = None
    amount: Money | None = None
    summary: Text | None = None


class IncidentClosed(EventData, frozen=True):
    """The incident is closed; only corrections may follow."""

    reason: Text


class IncidentCorrected(Correction, frozen=True):
    """Corrects an earlier event of an incident stream."""


# --- note ---------------------------------------------------------------------------------


class NoteSent(EventData, frozen=True):
    """A diplomatic note or letter went out: the opening event of a ``note-`` stream."""

    from_: Party = msgspec.field(name="from")
    to: Party
    subject: Text
    mission: MissionRef | None = None
    reference: Label | None = None
    form: NoteForm | None = None
    summary: Text | None = None
    reply_due_at: Time | None = None
    about_incident: IncidentRef | None = None
    in_reply_to: StreamRef | None = None
    channel: Label | None = None
    recipients: list[Party] = []

    _times = ("reply_due_at",)


class NoteAcknowledged(EventData, frozen=True):
    """Receipt of the note was acknowledged; it stays unanswered."""

    by: Party | None = None
    summary: Text | None = None


class ReplyReceived(EventData, frozen=True):
    """The note was answered."""

    from_: Party = msgspec.field(name="from")
    disposition: Disposition
    summary: Text | None = None
    reference: Label | None = None
    reply_note: StreamRef | None = None


class NoteWithdrawn(EventData, frozen=True):
    """The sender withdrew the note."""

    reason: Text


class NoteCorrected(Correction, frozen=True):
    """Corrects an earlier event of a note stream."""


# --- protest ------------------------------------------------------------------------------


class ProtestLodged(EventData, frozen=True):
    """A protest and its demands: the opening event of a ``protest-`` stream.

    ``mission`` is the mission the protest concerns; ``via_mission`` the one it was handed
    to, when the text says so.
    """

    by: Party
    to: Party
    form: ProtestForm
    demands: list[Demand]
    summary: Text | None = None
    about_incident: IncidentRef | None = None
    mission: MissionRef | None = None
    via_mission: MissionRef | None = None
    demand_details: dict[Demand, Text] = {}

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(set(self.demands)) != len(self.demands):
            raise ValueError("a demand is listed twice")
        unknown = set(self.demand_details) - set(self.demands)
        if unknown:
            raise ValueError(f"demand_details names demands not made: {sorted(unknown)}")


class DemandAnswered(EventData, frozen=True):
    """An answer to one demand; ``met`` and ``rejected`` settle it, ``partially_met`` not."""

    demand: Demand
    outcome: Outcome
    by: Party | None = None
    summary: Text | None = None


class ProtestResponseReceived(EventData, frozen=True):
    """The other side responded to the protest as a whole."""

    from_: Party = msgspec.field(name="from")
    summary: Text


class ProtestClosed(EventData, frozen=True):
    """The protest is closed; its demands take no more answers."""

    reason: Text


class ProtestCorrected(Correction, frozen=True):
    """Corrects an earlier event of a protest stream."""


# --- statement ----------------------------------------------------------------------------


class StatementIssued(EventData, frozen=True):
    """A public statement: the opening (and only) event of its ``statement-`` stream.

    ``about`` names what it answers: a stream id, or a free-text reference.
    """

    by: Party
    stance: Stance
    summary: Text
    title: Label | None = None
    about: Label | None = None
    related: list[Label] = []
    mission: MissionRef | None = None


class ResolutionAdopted(EventData, frozen=True):
    """A parliament's resolution: the opening (and only) event of its ``statement-`` stream."""

    body: Party
    title: Label
    adopted_on: PartialDate | None = None
    calls_for: list[Text] = []
    summary: Text | None = None
    about: Label | None = None


class StatementCorrected(Correction, frozen=True):
    """Corrects the statement or resolution of a statement stream."""


MissionEvent = (
    MissionRegistered
    | HeadOfMissionAppointed
    | HeadOfMissionRecalled
    | HeadOfMissionReturned
    | CorrespondenceSummarized
    | MissionCorrected
)
IncidentEvent = (
    IncidentReported
    | PoliceResponded
    | DamageRecorded
    | CasualtiesReported
    | InvestigationOpened
    | ProsecutionStarted
    | CompensationPaid
    | IncidentClosed
    | IncidentCorrected
)
NoteEvent = NoteSent | NoteAcknowledged | ReplyReceived | NoteWithdrawn | NoteCorrected
ProtestEvent = (
    ProtestLodged | DemandAnswered | ProtestResponseReceived | ProtestClosed | ProtestCorrected
)
StatementEvent = StatementIssued | ResolutionAdopted | StatementCorrected
DomainEvent = MissionEvent | IncidentEvent | NoteEvent | ProtestEvent | StatementEvent

_CATEGORIES: dict[str, tuple[type[EventData], ...]] = {
    "mission": (
        MissionRegistered,
        HeadOfMissionAppointed,
        HeadOfMissionRecalled,
        HeadOfMissionReturned,
        CorrespondenceSummarized,
        MissionCorrected,
    ),
    "incident": (
        IncidentReported,
        PoliceResponded,
        DamageRecorded,
        CasualtiesReported,
        InvestigationOpened,
        ProsecutionStarted,
        CompensationPaid,
        IncidentClosed,
        IncidentCorrected,
    ),
    "note": (NoteSent, NoteAcknowledged, ReplyReceived, NoteWithdrawn, NoteCorrected),
    "protest": (
        ProtestLodged,
        DemandAnswered,
        ProtestResponseReceived,
        ProtestClosed,
        ProtestCorrected,
    ),
    "statement": (StatementIssued, ResolutionAdopted, StatementCorrected),
}

EVENT_TYPES: dict[str, type[EventData]] = {
    cls.__name__: cls for classes in _CATEGORIES.values() for cls in classes
}
"""Type name → the Struct of its ``data``: every type of the catalogue."""

TYPES_BY_CATEGORY: dict[str, frozenset[str]] = {
    category: frozenset(cls.__name__ for cls in classes)
    for category, classes in _CATEGORIES.items()
}
"""Stream category → the type names its streams accept."""

CATEGORY_OF_TYPE: dict[str, str] = {
    name: category for category, names in TYPES_BY_CATEGORY.items() for name in names
}
"""Type name → the category whose streams accept it."""

OPENING_TYPES: dict[str, frozenset[str]] = {
    "mission": frozenset({"MissionRegistered"}),
    "incident": frozenset({"IncidentReported"}),
    "note": frozenset({"NoteSent"}),
    "protest": frozenset({"ProtestLodged"}),
    "statement": frozenset({"StatementIssued", "ResolutionAdopted"}),
}
"""Stream category → the types that may (and must) open its streams."""

CORRECTION_TYPES: dict[str, str] = {
    category: f"{category.capitalize()}Corrected" for category in _CATEGORIES
}
"""Stream category → its correction type."""

TYPE_NAMES: dict[type[EventData], str] = {cls: name for name, cls in EVENT_TYPES.items()}
"""Struct → type name (the tag)."""


class UnknownEventType(LookupError):
    """The type name is not in the catalogue."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"{type_name!r} is not an event type of the catalogue")


# One decoder per type, made once: msgspec's advice for speed.
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}
_ENCODER = msgspec.json.Encoder(order="deterministic")
# msgspec writes the tag first: ``{"type":"NoteSent"`` is this many bytes long for each type.
_TAG_LENGTH: dict[type[EventData], int] = {
    cls: len(b'{"type":"') + len(name) + 1 for name, cls in EVENT_TYPES.items()
}


def decode_data(type_name: str, data: bytes | msgspec.Raw) -> DomainEvent:
    """Decode and validate an event's ``data`` (JSON without the tag) as its type's Struct.

    Raises :class:`UnknownEventType` for a type not in the catalogue and
    ``msgspec.ValidationError`` for a body that does not match the type.
    """
    decoder = _DECODERS.get(type_name)
    if decoder is None:
        raise UnknownEventType(type_name)
    event: DomainEvent = decoder.decode(data)
    return event


def encode_data(event: EventData) -> bytes:
    """The canonical JSON of an event's ``data``: without the ``type`` tag, fields in
    declaration order, defaults left out, dict keys sorted, times in UTC."""
    encoded = _ENCODER.encode(event)
    skip = _TAG_LENGTH[type(event)]
    if encoded[skip] == 0x2C:  # a comma: other fields follow the tag
        return b"{" + encoded[skip + 1 :]
    return b"{}"


def type_name(event: EventData) -> str:
    """The type name (the tag) of an event body."""
    return TYPE_NAMES[type(event)]
