"""The application service: turns decoded events into store appends.

It owns what neither the HTTP layer nor the store should: giving events their ids, encoding
data canonically and checking that a stream's category exists. Domain rules run inside the
store's writer (``DomainRules``), where they see the stream exactly as the append will find
it. Request bodies are decoded and validated before they get here (``incidents.http.bodies``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from incidents.correlation import with_correlation_id
from incidents.domain.events import TYPES_BY_CATEGORY, EventData, encode_data, type_name
from incidents.store.ids import new_event_id
from incidents.store.protocol import (
    AppendRequest,
    AppendResult,
    EventStore,
    ExpectedVersion,
    ProposedEvent,
    RuleViolation,
    category_of,
)

# The categories the domain's catalogue knows.
KNOWN_CATEGORIES: frozenset[str] = frozenset(TYPES_BY_CATEGORY)

_encode_metadata = msgspec.json.Encoder(order="sorted").encode


class NewEvent(Protocol):
    """An event to append: its typed data and what the client said about it."""

    @property
    def data(self) -> EventData: ...
    @property
    def event_id(self) -> UUID | None: ...
    @property
    def occurred_at(self) -> datetime | None: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...


class StreamAppend(Protocol):
    """One stream's part of an atomic append to several streams."""

    @property
    def stream_id(self) -> str: ...
    @property
    def events(self) -> Sequence[NewEvent]: ...
    @property
    def expected_version(self) -> ExpectedVersion: ...


# The references an event must make to streams the log holds, and the rule each breaks:
# a mission is registered before anything names it.
REQUIRED_REFERENCES = (("mission", "mission-unknown"), ("via_mission", "mission-unknown"))
# References the log may not hold yet, or ever: correspondence sent before the log began,
# and incidents recorded from a document read after the one that mentions them. Accepted,
# with a warning.
HISTORICAL_REFERENCES = ("in_reply_to", "reply_note", "about_incident")
# How many existing stream ids the service remembers before it starts afresh.
MAX_KNOWN_STREAMS = 100_000


class ReferenceWarning(msgspec.Struct, frozen=True, kw_only=True):
    """An event names correspondence the log does not hold; it was stored all the same."""

    append_index: int
    event_index: int
    field: str
    stream_id: str


class StreamNotFoundError(Exception):
    """The stream has no events (404)."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        super().__init__(f"stream {stream_id!r} has no events")


def with_actor(metadata: dict[str, Any], actor: str | None) -> dict[str, Any]:
    """The metadata stored for an event appended by ``actor`` (a token's name): ``actor`` is
    the server's, and a client's own ``actor`` is kept as ``client_actor`` (the HTTP bodies
    refuse metadata that carries both)."""
    if actor is None:
        return metadata
    if "actor" in metadata:
        metadata["client_actor"] = metadata.pop("actor")
    metadata["actor"] = actor
    return metadata


def _proposed(events: Sequence[NewEvent], actor: str | None = None) -> list[ProposedEvent]:
    """Give each event its id and encode its data and metadata canonically."""
    return [
        ProposedEvent(
            event_id=event.event_id or new_event_id(),
            type=type_name(event.data),
            data=encode_data(event.data),
            metadata=_encode_metadata(with_actor(with_correlation_id(dict(event.metadata)), actor)),
            occurred_at=event.occurred_at,
        )
        for event in events
    ]


def _check_stream_id(stream_id: str, append_index: int = 0) -> None:
    if category_of(stream_id) not in KNOWN_CATEGORIES:
        raise RuleViolation(
            0,
            "unknown-category",
            f"{stream_id!r}: the category must be one of {', '.join(sorted(KNOWN_CATEGORIES))}",
            append_index,
        )


class LogService:
    """What the HTTP layer and the CLI call to append; reads go to ``store`` directly."""

    def __init__(
        self, store: EventStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.clock = clock
        # Streams seen to exist. Streams are never deleted, so this never goes stale.
        self._existing: set[str] = set()

    async def _exists(self, stream_id: str) -> bool:
        if stream_id in self._existing:
            return True
        if await self.store.stream_version(stream_id) == 0:
            return False
        if len(self._existing) >= MAX_KNOWN_STREAMS:
            self._existing.clear()
        self._existing.add(stream_id)
        return True

    async def check_references(self, appends: Sequence[tuple[str, Sequence[NewEvent]]]) -> None:
        """Refuse (422) an event that names a mission the log does not hold and no earlier
        part of the request opens. Streams are never deleted, so a stream
        found now exists when the append commits."""
        opened: set[str] = set()
        for append_index, (stream_id, events) in enumerate(appends):
            opened.add(stream_id)
            for event_index, event in enumerate(events):
                for field, rule in REQUIRED_REFERENCES:
                    named = getattr(event.data, field, None)
                    if named is None or named in opened or await self._exists(named):
                        continue
                    raise RuleViolation(
                        event_index,
                        rule,
                        f"{field} names {named!r}, which the log does not hold",
                        append_index,
                    )

    async def references_outside_the_log(
        self, appends: Sequence[tuple[str, Sequence[NewEvent]]]
    ) -> list[ReferenceWarning]:
        """Events that name correspondence or an incident the log does not hold (a reply to
        a note sent before the log began): accepted, with a warning each."""
        opened: set[str] = set()
        found: list[ReferenceWarning] = []
        for append_index, (stream_id, events) in enumerate(appends):
            opened.add(stream_id)
            for event_index, event in enumerate(events):
                for field in HISTORICAL_REFERENCES:
                    named = getattr(event.data, field, None)
                    if named is None or named in opened or await self._exists(named):
                        continue
                    found.append(
                        ReferenceWarning(
                            append_index=append_index,
                            event_index=event_index,
                            field=field,
                            stream_id=named,
                        )
                    )
        return found

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected: ExpectedVersion = "any",
        actor: str | None = None,
    ) -> AppendResult:
        """Append events to one stream, atomically; ``actor`` (the name of the token the
        request came with) goes into each event's metadata."""
        _check_stream_id(stream_id)
        await self.check_references([(stream_id, events)])
        return await self.store.append(stream_id, _proposed(events, actor), expected)

    async def append_many(
        self, appends: Sequence[StreamAppend], actor: str | None = None
    ) -> list[AppendResult]:
        """Append to several streams in one transaction: all or none; ``actor`` as in
        :meth:`append`."""
        requests: list[AppendRequest] = []
        for index, part in enumerate(appends):
            _check_stream_id(part.stream_id, index)
        await self.check_references([(part.stream_id, part.events) for part in appends])
        for part in appends:
            requests.append(
                AppendRequest(part.stream_id, _proposed(part.events, actor), part.expected_version)
            )
        return await self.store.append_many(requests)
