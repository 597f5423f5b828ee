"""The application service: turns decoded requests into store appends and reads.

It owns what neither the HTTP layer nor the store should: validating each event's ``data``
against its type's Struct, giving events their ids, encoding data canonically, and
translating ``If-Match`` into an expected version. Domain rules run inside the store's
writer (``DomainRules``), where they see the stream exactly as the append will find it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from incidents.domain.events import EVENT_TYPES, TYPES_BY_CATEGORY, encode_data
from incidents.store.ids import new_event_id
from incidents.store.protocol import (
    STREAM_ID_MAX_LENGTH,
    STREAM_ID_PATTERN,
    AppendRequest,
    AppendResult,
    EventStore,
    ExpectedVersion,
    ProposedEvent,
    RuleViolation,
    category_of,
)

# The most events one request may carry; the body limit (1 MiB) usually bites first.
MAX_EVENTS_PER_REQUEST = 1000

StreamId = Annotated[
    str, Meta(pattern=STREAM_ID_PATTERN, max_length=STREAM_ID_MAX_LENGTH, examples=["note-az-1"])
]
# Positions and versions are 64-bit integers in every store.
MAX_INT64 = 2**63 - 1
Version = Annotated[int, Meta(ge=0, le=MAX_INT64)]
ExpectedVersionIn = Version | Literal["any", "no_stream", "exists"]
AwareDatetime = Annotated[datetime, Meta(tz=True)]

# The categories the domain's catalogue knows; the Literal spells them out for OpenAPI
# (tests/integration/test_http.py checks the two agree).
KNOWN_CATEGORIES: frozenset[str] = frozenset(TYPES_BY_CATEGORY)
Category = Literal["mission", "incident", "note", "protest", "statement"]
# Event type names are past-tense CamelCase words; the catalogue decides which exist.
EVENT_TYPE_PATTERN = r"^[A-Z][A-Za-z]*$"

_encode_metadata = msgspec.json.Encoder(order="sorted").encode


class EventIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One event as a client posts it."""

    type: Annotated[str, Meta(pattern=EVENT_TYPE_PATTERN, max_length=64)]
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    event_id: UUID | None = None
    occurred_at: AwareDatetime | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class AppendBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /streams/{stream_id}/events``."""

    events: Annotated[list[EventIn], Meta(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]
    expected_version: ExpectedVersionIn = "any"


class StreamAppendIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stream's part of ``POST /events``."""

    stream_id: StreamId
    events: Annotated[list[EventIn], Meta(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]
    expected_version: ExpectedVersionIn = "any"


class MultiAppendBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /events``: appends to several streams, all or none."""

    appends: Annotated[list[StreamAppendIn], Meta(min_length=1, max_length=100)]


class BadRequestError(Exception):
    """The request is malformed (400): the message says where."""

    def __init__(self, detail: str, pointer: str | None = None) -> None:
        self.detail = detail
        self.pointer = pointer
        super().__init__(detail)


class StreamNotFoundError(Exception):
    """The stream has no events (404)."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        super().__init__(f"stream {stream_id!r} has no events")


def parse_if_match(header: str | None) -> ExpectedVersion | None:
    """``If-Match: "<n>"`` means expected version n; ``*`` means the stream exists."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return "exists"
    if value.startswith("W/"):
        raise BadRequestError("If-Match takes a strong ETag: the stream's version in quotes")
    value = value.strip('"')
    if not value.isdigit():
        raise BadRequestError(f'If-Match must be a stream version such as "3", not {header!r}')
    return int(value)


def _proposed(events: Sequence[EventIn], pointer: str) -> list[ProposedEvent]:
    """Validate each event's data against its type and encode it canonically."""
    proposed: list[ProposedEvent] = []
    for index, event in enumerate(events):
        struct_type = EVENT_TYPES.get(event.type)
        if struct_type is None:
            raise RuleViolation(
                index, "unknown-event-type", f"{event.type!r} is not an event type of the catalogue"
            )
        try:
            data = msgspec.convert(event.data, struct_type)
        except msgspec.ValidationError as error:
            raise BadRequestError(
                f"{pointer}/events/{index}/data does not match {event.type}: {error}",
                f"{pointer}/events/{index}/data",
            ) from error
        proposed.append(
            ProposedEvent(
                event_id=event.event_id or new_event_id(),
                type=event.type,
                data=encode_data(data),
                metadata=_encode_metadata(event.metadata),
                occurred_at=event.occurred_at,
            )
        )
    return proposed


def _check_stream_id(stream_id: str, append_index: int = 0) -> None:
    if category_of(stream_id) not in KNOWN_CATEGORIES:
        raise RuleViolation(
            0,
            "unknown-category",
            f"{stream_id!r}: the category must be one of {', '.join(sorted(KNOWN_CATEGORIES))}",
            append_index,
        )


class LogService:
    """What the HTTP layer and the CLI call: appends with validation, and reads."""

    def __init__(
        self, store: EventStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.clock = clock

    async def append(
        self, stream_id: str, body: AppendBody, if_match: str | None = None
    ) -> AppendResult:
        """Append a request's events to one stream, atomically."""
        expected: ExpectedVersion = body.expected_version
        from_header = parse_if_match(if_match)
        if from_header is not None:
            if expected not in ("any", from_header):
                raise BadRequestError(
                    f"If-Match says {from_header!r} but expected_version says {expected!r}"
                )
            expected = from_header
        _check_stream_id(stream_id)
        events = _proposed(body.events, "")
        return await self.store.append(stream_id, events, expected)

    async def append_many(self, body: MultiAppendBody) -> list[AppendResult]:
        """Append to several streams in one transaction: all or none."""
        requests: list[AppendRequest] = []
        for index, part in enumerate(body.appends):
            _check_stream_id(part.stream_id, index)
            try:
                events = _proposed(part.events, f"/appends/{index}")
            except RuleViolation as violation:
                violation.append_index = index
                raise
            requests.append(AppendRequest(part.stream_id, events, part.expected_version))
        return await self.store.append_many(requests)
