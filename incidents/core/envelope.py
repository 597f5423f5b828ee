"""Events on their way into the log, events in it, and what an append answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

import msgspec

ExpectedVersion = int | Literal["any", "no_stream", "exists"]
Direction = Literal["forward", "backward"]

# The hash the first event of a log chains to.
GENESIS_HASH = "0" * 64


class ProposedEvent(msgspec.Struct, frozen=True):
    """An event on its way into the log, before it has a position.

    ``data`` and ``metadata`` are canonical JSON (what the store hashes and compares for
    idempotency); ``occurred_at`` None means "when the log takes it".
    """

    event_id: UUID
    type: str
    data: bytes
    metadata: bytes = b"{}"
    occurred_at: datetime | None = None


class RecordedEvent(msgspec.Struct, frozen=True):
    """One stored event in the envelope of the HTTP contract."""

    position: int
    stream_id: str
    version: int
    event_id: UUID
    type: str
    data: msgspec.Raw
    metadata: msgspec.Raw
    occurred_at: datetime
    recorded_at: datetime
    hash: str


class LoggedEvent(Protocol):
    """What a whole-stream fold reads of each logged event (a RecordedEvent has it all)."""

    @property
    def event_id(self) -> UUID: ...

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> msgspec.Raw: ...

    @property
    def occurred_at(self) -> datetime: ...


class AppendRequest(msgspec.Struct, frozen=True):
    """Events for one stream, with the version the caller expects the stream to be at.

    ``recorded``, when given, holds the envelopes the same events had in the log they were
    exported from, one for each of ``events``: the append keeps their positions, versions,
    ``recorded_at`` and hashes, and is refused (InvalidAppendError) where they do not
    follow this log's head and chain (``incidents import``).
    """

    stream_id: str
    events: Sequence[ProposedEvent]
    expected_version: ExpectedVersion = "any"
    recorded: Sequence[RecordedEvent] = ()


class AppendedEvent(msgspec.Struct, frozen=True):
    """Where one appended event landed."""

    event_id: UUID
    position: int
    version: int


class AppendResult(msgspec.Struct, frozen=True):
    """The outcome of one stream's append.

    ``created`` is False when every event was already stored (an idempotent retry): the
    positions are those the events got the first time and nothing new was written.
    """

    stream_id: str
    version: int
    events: list[AppendedEvent]
    created: bool = True


class LogHead(msgspec.Struct, frozen=True):
    """The last position in the log and its hash (``GENESIS_HASH`` for an empty log)."""

    position: int
    hash: str
