"""The request and response bodies of the stream and log controllers, as msgspec Structs.

An event as a client posts it is one Struct per event type, tagged by ``type``: msgspec
decodes ``data`` straight into the type's Struct, and the OpenAPI document shows every
type's ``data`` in a union discriminated on ``type``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, cast
from uuid import UUID

import msgspec
from msgspec import Meta

from incidents.domain.events import EVENT_TYPES, EventData
from incidents.domain.times import check_in_range
from incidents.store.protocol import STREAM_ID_MAX_LENGTH, STREAM_ID_PATTERN, RecordedEvent

# The most events one request may carry; the body limit (1 MiB) usually bites first.
MAX_EVENTS_PER_REQUEST = 1000
# The most appends one ``POST /events`` may carry.
MAX_APPENDS_PER_REQUEST = 100
# The largest position or version a request may name: the largest integer every JSON client
# holds exactly (JavaScript's Number.MAX_SAFE_INTEGER), well inside the stores' 64 bits.
MAX_VERSION = 2**53 - 1

StreamId = Annotated[
    str,
    Meta(
        pattern=STREAM_ID_PATTERN,
        max_length=STREAM_ID_MAX_LENGTH,
        description="<category>-<name>: lower-case ASCII letters, digits and '-'",
        examples=["note-az-paris-2022-08-17"],
    ),
]
Version = Annotated[int, Meta(ge=0, le=MAX_VERSION)]
ExpectedVersionIn = Annotated[
    Version | Literal["any", "no_stream", "exists"],
    Meta(
        description='"any" (default), "no_stream", "exists", or the exact version the stream '
        "must be at (0 = empty)"
    ),
]
AwareDatetime = Annotated[datetime, Meta(tz=True)]
Category = Literal["mission", "incident", "note", "protest", "statement"]
# Event type names as filters take them: past-tense CamelCase words.
if TYPE_CHECKING:
    EventTypeName = str
else:
    # The catalogue's type names: a filter on a type that does not exist is a 400.
    EventTypeName = Literal[tuple(sorted(EVENT_TYPES))]
Metadata = Annotated[
    dict[str, Any],
    Meta(description="Any JSON object (correlation_id, causation_id, source, ...)"),
]


class EventInFields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The envelope fields a client may send with any event type."""

    event_id: Annotated[
        UUID | None,
        Meta(description="The event's id; the server makes a UUIDv7 when it is missing"),
    ] = None
    occurred_at: Annotated[
        AwareDatetime | None,
        Meta(
            description="When it happened in the world; defaults to when the log takes it. "
            "From 1000-01-01T00:00:00Z up to, not including, 3000-01-01T00:00:00Z"
        ),
    ] = None
    metadata: Metadata = {}

    def __post_init__(self) -> None:
        if self.occurred_at is not None:
            check_in_range(self.occurred_at, "occurred_at")
        # The server stores a token's name as ``actor`` and a client's own as
        # ``client_actor``: metadata naming both would lose one.
        if "actor" in self.metadata and "client_actor" in self.metadata:
            raise ValueError(
                "metadata may carry actor or client_actor, not both: the server sets actor "
                "from the token and keeps a client's own actor as client_actor"
            )


def _event_in(name: str, data_type: type[EventData]) -> type[EventInFields]:
    struct = msgspec.defstruct(
        f"{name}In",
        [("data", data_type)],
        bases=(EventInFields,),
        tag_field="type",
        tag=name,
        frozen=True,
        kw_only=True,
        forbid_unknown_fields=True,
        module=__name__,
    )
    struct.__doc__ = f"A {name} event as a client posts it: its data, and optional envelope."
    return cast(type[EventInFields], struct)


EVENT_IN_TYPES: dict[str, type[EventInFields]] = {
    name: _event_in(name, data_type) for name, data_type in EVENT_TYPES.items()
}
"""Type name → the Struct of an event of that type as a client posts it."""

if TYPE_CHECKING:

    class EventIn(EventInFields, frozen=True):
        """Any event as a client posts it (for the type checker: one of EVENT_IN_TYPES)."""

        data: EventData

else:
    EventIn = Union[tuple(EVENT_IN_TYPES.values())]  # noqa: UP007 (a runtime tuple of types)


# One stream's events in an append.
EventsIn = Annotated[
    list[EventIn],
    Meta(
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="Appended atomically, in this order",
    ),
]


class AppendBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /streams/{stream_id}/events``."""

    events: EventsIn
    expected_version: ExpectedVersionIn = "any"


class StreamAppendIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stream's part of ``POST /events``."""

    stream_id: StreamId
    events: EventsIn
    expected_version: ExpectedVersionIn = "any"

    def __post_init__(self) -> None:
        # fullmatch: the pattern's "$" alone lets a final newline through.
        if not re.fullmatch(STREAM_ID_PATTERN, self.stream_id):
            raise ValueError(f"{self.stream_id!r} is not a stream id")


class MultiAppendBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /events``: appends to several streams, all or none."""

    appends: Annotated[
        list[StreamAppendIn],
        Meta(
            min_length=1,
            max_length=MAX_APPENDS_PER_REQUEST,
            description="Committed in one transaction, all or none",
        ),
    ]


class AppendedOut(msgspec.Struct, frozen=True):
    """Where one appended event landed."""

    event_id: Annotated[UUID, Meta(description="The event's id, given or made by the server")]
    position: Annotated[int, Meta(description="Its place in the global log")]
    version: Annotated[int, Meta(description="Its place in its stream")]


class AppendWarning(msgspec.Struct, frozen=True, kw_only=True):
    """Something about an event stored all the same: it names correspondence or an incident
    the log does not hold (from before it began, or not recorded yet), rule
    ``reference-not-in-log``."""

    rule: Annotated[str, Meta(description="What the warning is about")]
    pointer: Annotated[str, Meta(description="JSON Pointer to the field in the request body")]
    detail: Annotated[str, Meta(description="What it means")]


class AppendOut(msgspec.Struct, frozen=True, omit_defaults=True):
    """The answer to an append: the stream's new version and each event's place."""

    stream_id: Annotated[str, Meta(description="The stream appended to")]
    version: Annotated[int, Meta(description="The stream's version after the append")]
    events: Annotated[list[AppendedOut], Meta(description="Each event's place, in order")]
    warnings: Annotated[
        list[AppendWarning],
        Meta(description="Events stored with a warning (absent when there is none)"),
    ] = []


class MultiAppendOut(msgspec.Struct, frozen=True):
    """The answer to ``POST /events``: one entry per append, in request order."""

    appends: Annotated[list[AppendOut], Meta(description="One entry per append, in order")]


AsOfEcho = Annotated[
    datetime | None,
    Meta(description="The as_of the answer was computed for (null: no bound, today)"),
]
KnownAtEcho = Annotated[
    datetime | None,
    Meta(description="The known_at the answer was computed for (null: all that is recorded)"),
]


class StreamEventsOut(msgspec.Struct, frozen=True):
    """A page of one stream's events; ``next_version`` continues in the same direction."""

    stream_id: Annotated[str, Meta(description="The stream read")]
    direction: Annotated[
        Literal["forward", "backward"], Meta(description="The direction of the page")
    ]
    events: Annotated[list[RecordedEvent], Meta(description="The events, in page order")]
    next_version: Annotated[
        int | None, Meta(description="Where the next page starts; null when there is none")
    ]
    known_at: KnownAtEcho = None


class LogPageOut(msgspec.Struct, frozen=True):
    """A page of the global log; pass ``next_after`` as ``after`` for the next page."""

    events: Annotated[list[RecordedEvent], Meta(description="The events, in position order")]
    next_after: Annotated[int, Meta(description="The position the next page starts after")]
    has_more: Annotated[bool, Meta(description="Whether the page was full")]
    known_at: KnownAtEcho = None


class StreamStateOut(msgspec.Struct, frozen=True):
    """A stream's current state as its projection sees it."""

    stream_id: Annotated[str, Meta(description="The stream")]
    category: Annotated[str, Meta(description="Its category: the part before the first '-'")]
    version: Annotated[int, Meta(description="Its version: the number of its events")]
    state: Annotated[msgspec.Raw, Meta(description="The state its events fold to")]
    mission: Annotated[str | None, Meta(description="The mission it concerns, if any")]
    is_open: Annotated[bool, Meta(description="Whether it still awaits something")]
    last_position: Annotated[int, Meta(description="The position of its last event")]
    updated_at: Annotated[str, Meta(description="When its last event was recorded")]
    as_of: AsOfEcho = None
    known_at: KnownAtEcho = None


def without_data_tags(definitions: dict[str, Any]) -> dict[str, Any]:
    """Schema definitions with the ``type`` tag taken out of every event type's ``data``:
    the type travels beside the data, not inside it."""
    for name in EVENT_TYPES:
        body = definitions.get(name)
        if body is None:
            continue
        body.get("properties", {}).pop("type", None)
        required = [field for field in body.get("required", []) if field != "type"]
        if required:
            body["required"] = required
        else:
            body.pop("required", None)
    return definitions
